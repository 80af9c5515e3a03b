//! `fathom hcl-ls` spoken to directly over LSP (Content-Length framing on stdio), on a module
//! tree written here (child module, count, references in strings, a broken file) and on the
//! `main.tf` files of the shared OpenTofu corpus.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use common::{Scratch, fathom};
use serde_json::{Value, json};

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<std::process::ChildStdout>,
    next: u64,
}

impl Lsp {
    fn start() -> Self {
        let mut child = Command::new(fathom())
            .arg("hcl-ls")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn hcl-ls");
        let stdin = child.stdin.take().expect("stdin");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Lsp {
            child,
            stdin,
            out,
            next: 1,
        }
    }

    fn send(&mut self, v: &Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn read(&mut self) -> Value {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            self.out.read_line(&mut line).expect("header");
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                len = v.trim().parse().expect("length");
            }
        }
        let mut buf = vec![0u8; len];
        self.out.read_exact(&mut buf).expect("body");
        serde_json::from_slice(&buf).expect("json")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let v = self.read();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn init(&mut self, root: &std::path::Path) {
        let uri = format!("file://{}", root.display());
        self.request(
            "initialize",
            json!({"processId": null, "rootUri": uri, "capabilities": {},
            "workspaceFolders": [{"uri": uri, "name": "ws"}]}),
        );
        self.notify("initialized", json!({}));
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "hcl-ls exit: {status}");
    }
}

fn uri(p: &std::path::Path) -> String {
    format!("file://{}", p.display())
}

const ROOT: &str = r#"variable "region" {
  default = "eu-west-1"
}

locals {
  tags = { service = "payments" }
}

resource "aws_security_group" "db" {
  name = "payments-${var.region}"
  tags = local.tags
}

resource "aws_db_instance" "payments" {
  count                  = 2
  engine                 = "postgres"
  vpc_security_group_ids = [aws_security_group.db.id]
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [tags]
  }
}

module "vpc" {
  source = "./modules/vpc"
  region = var.region
}

output "endpoint" {
  value = "${aws_db_instance.payments[0].endpoint}"
}

output "vpc" {
  value = module.vpc.vpc_id
}
"#;

#[test]
fn symbols_definitions_references_and_hover() {
    let ws = Scratch::new("hclls");
    ws.write("infra/main.tf", ROOT);
    ws.write("infra/modules/vpc/main.tf", "variable \"region\" {}\n\nresource \"aws_vpc\" \"main\" {\n  cidr_block = \"10.0.0.0/16\"\n  tags = { region = var.region }\n}\n\noutput \"vpc_id\" {\n  value = aws_vpc.main.id\n}\n");
    ws.write("infra/broken.tf", "resource \"aws_s3_bucket\" \"ok\" {\n  bucket = \"x\"\n}\n\nresource \"aws_s3_bucket\" \"bad\" {\n  bucket = = \"y\"\n}\n");
    let main = ws.join("infra/main.tf");
    let mut lsp = Lsp::start();
    lsp.init(&ws.path);

    let syms = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&main)}}),
    );
    let names: Vec<&str> = syms
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "var.region",
            "local.tags",
            "aws_security_group.db",
            "aws_db_instance.payments",
            "module.vpc",
            "output.endpoint",
            "output.vpc"
        ]
    );
    let db = &syms[3];
    assert_eq!(db["range"]["start"]["line"], json!(13));

    // Broken files still give symbols for their valid parts.
    let broken = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&ws.join("infra/broken.tf"))}}),
    );
    let names: Vec<&str> = broken
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["aws_s3_bucket.ok"]);

    // workspace/symbol by Terraform address, across the module tree.
    let found = lsp.request(
        "workspace/symbol",
        json!({"query": "aws_db_instance.payments"}),
    );
    assert_eq!(
        found[0]["name"],
        json!("aws_db_instance.payments"),
        "{found}"
    );
    let found = lsp.request("workspace/symbol", json!({"query": "aws_vpc"}));
    assert!(
        found[0]["location"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("modules/vpc/main.tf"),
        "{found}"
    );
    let found = lsp.request("workspace/symbol", json!({"query": "var.region"}));
    assert_eq!(
        found.as_array().unwrap().len(),
        2,
        "one in each module: {found}"
    );

    // Definition from a reference inside a string interpolation (`${aws_db_instance.payments[0]...}`).
    let out_line = ROOT
        .lines()
        .position(|l| l.contains("${aws_db_instance"))
        .unwrap() as u32;
    let col = ROOT
        .lines()
        .nth(out_line as usize)
        .unwrap()
        .find("aws_db_instance")
        .unwrap() as u32
        + 3;
    let def = lsp.request("textDocument/definition", json!({"textDocument": {"uri": uri(&main)}, "position": {"line": out_line, "character": col}}));
    assert_eq!(def["range"]["start"]["line"], json!(13), "{def}");

    // Into a child module: `module.vpc.vpc_id` → the child's output; `module.vpc` → the block.
    let line = ROOT
        .lines()
        .position(|l| l.contains("module.vpc.vpc_id"))
        .unwrap() as u32;
    let text = ROOT.lines().nth(line as usize).unwrap();
    let on_output = text.find("vpc_id").unwrap() as u32 + 1;
    let def = lsp.request("textDocument/definition", json!({"textDocument": {"uri": uri(&main)}, "position": {"line": line, "character": on_output}}));
    assert!(
        def["uri"]
            .as_str()
            .unwrap()
            .ends_with("modules/vpc/main.tf"),
        "{def}"
    );
    assert_eq!(def["range"]["start"]["line"], json!(7), "{def}");
    let on_module = text.find("module").unwrap() as u32 + 2;
    let def = lsp.request("textDocument/definition", json!({"textDocument": {"uri": uri(&main)}, "position": {"line": line, "character": on_module}}));
    assert!(
        def["uri"].as_str().unwrap().ends_with("infra/main.tf"),
        "{def}"
    );
    assert_eq!(def["range"]["start"]["line"], json!(23), "{def}");

    // References to var.region within the root module (a string and a module argument).
    let var_line = 0u32;
    let refs = lsp.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri(&main)},
        "position": {"line": var_line, "character": 11}, "context": {"includeDeclaration": false}}),
    );
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![9, 25], "{refs}");

    // A module call's argument `region = …` → the child's `variable "region"`.
    let arg_line = ROOT
        .lines()
        .position(|l| l.trim_start().starts_with("region = var.region"))
        .unwrap() as u32;
    let child = ws.join("infra/modules/vpc/main.tf");
    let def = lsp.request("textDocument/definition", json!({"textDocument": {"uri": uri(&main)}, "position": {"line": arg_line, "character": 3}}));
    assert!(
        def["uri"]
            .as_str()
            .unwrap()
            .ends_with("modules/vpc/main.tf"),
        "{def}"
    );
    assert_eq!(def["range"]["start"]["line"], json!(0), "{def}");
    // …and the child's variable and output are referenced from the caller.
    let refs = lsp.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri(&child)},
        "position": {"line": 0, "character": 11}, "context": {"includeDeclaration": false}}),
    );
    let places: Vec<(String, u64)> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let u = r["uri"].as_str().unwrap();
            (
                u.rsplit("infra/").next().unwrap().to_string(),
                r["range"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        vec![
            ("modules/vpc/main.tf".to_string(), 4),
            ("main.tf".to_string(), arg_line as u64)
        ],
        "{refs}"
    );
    let refs = lsp.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri(&child)},
        "position": {"line": 7, "character": 9}, "context": {"includeDeclaration": false}}),
    );
    let used_at = ROOT
        .lines()
        .position(|l| l.contains("module.vpc.vpc_id"))
        .unwrap() as u64;
    assert_eq!(refs.as_array().map(Vec::len), Some(1), "{refs}");
    assert_eq!(refs[0]["range"]["start"]["line"], json!(used_at), "{refs}");
    assert!(
        refs[0]["uri"].as_str().unwrap().ends_with("infra/main.tf"),
        "{refs}"
    );

    // Hover shows the lifecycle.
    let hover = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&main)}, "position": {"line": 13, "character": 30}}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("prevent_destroy = true") && text.contains("ignore_changes = [tags]"),
        "{text}"
    );

    // Unsaved edits are seen.
    let edited = ROOT.replace(
        "resource \"aws_security_group\" \"db\"",
        "resource \"aws_security_group\" \"database\"",
    );
    lsp.notify("textDocument/didOpen", json!({"textDocument": {"uri": uri(&main), "languageId": "terraform", "version": 1, "text": edited}}));
    let syms = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri(&main)}}),
    );
    assert!(
        syms.to_string().contains("aws_security_group.database"),
        "{syms}"
    );
    lsp.stop();
}

/// The `main.tf` files of the OpenTofu corpus: every `resource` block becomes a symbol.
#[test]
fn corpus_configurations_index() {
    let corpus = std::env::var("FATHOM_CORPUS").unwrap_or_else(|_| {
        panic!("FATHOM_CORPUS is not set: point it at ../shared/fixtures (scripts/test does)")
    });
    let dir = std::path::Path::new(&corpus).join("opentofu-show-json");
    let ws = Scratch::new("hclcorpus");
    let mut expected = 0usize;
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with("main.tf") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        // Independent count: lines that open a resource block.
        expected += text
            .lines()
            .filter(|l| l.trim_start().starts_with("resource \""))
            .count();
        ws.write(&format!("m{n}/main.tf"), &text);
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus configurations");
    let mut lsp = Lsp::start();
    lsp.init(&ws.path);
    let mut got = 0usize;
    for i in 0..n {
        let syms = lsp.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri(&ws.join(&format!("m{i}/main.tf")))}}),
        );
        got += syms
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == json!(5))
            .count();
    }
    assert!(
        expected >= 10,
        "the corpus should declare resources, found {expected}"
    );
    assert_eq!(got, expected, "resource symbols across {n} corpus files");
    lsp.stop();
}
