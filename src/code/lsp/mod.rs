//! A client for real language servers: JSON-RPC framing ([`rpc`]), positions and URIs
//! ([`text`]), which server serves which files ([`registry`]), and one supervised process per
//! language ([`supervisor`]). Symbol queries on top live in [`crate::code::symbols`].

pub mod registry;
pub mod rpc;
pub mod supervisor;
pub mod text;
