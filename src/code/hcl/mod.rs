//! fathom's own HCL language support: an error-tolerant module index, and `fathom hcl-ls`, a
//! language server over it for when terraform-ls / tofu-ls are not installed.

pub mod index;
pub mod server;
