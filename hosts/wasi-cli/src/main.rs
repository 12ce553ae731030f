//! Writes `aci-cli.wasm` (the composed component) to the path given, by
//! default `aci-cli.wasm` in the current directory, and prints the path.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let out = match (args.next(), args.next()) {
        (Some(flag), _) if flag == "-h" || flag == "--help" => {
            println!("usage: aci-cli [OUT.wasm]   (writes the composed component, default ./aci-cli.wasm)");
            return ExitCode::SUCCESS;
        }
        (out, None) => PathBuf::from(out.unwrap_or_else(|| "aci-cli.wasm".into())),
        (_, Some(_)) => {
            eprintln!("usage: aci-cli [OUT.wasm]");
            return ExitCode::from(2);
        }
    };
    match std::fs::copy(aci_cli::ACI_CLI_WASM, &out) {
        Ok(_) => {
            println!("{}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
