//! The command line of `wasi-run`: the subset of `wasmtime run` that running
//! `aci-cli.wasm` needs, with the same spelling, so one command line works
//! with either program:
//!
//! ```text
//! [run] [-S http] [--dir HOST[::GUEST]]… [--env NAME[=VALUE]]… [-C cache=y|n] FILE [ARGS…]
//! ```
//!
//! Everything after `FILE` goes to the component; the component's
//! `argv[0]` is `FILE` as given. `--env NAME` passes the variable from this
//! process's environment, and nothing when it is not set. Any other option is
//! refused rather than ignored.

use std::path::PathBuf;

/// A parsed command line.
#[derive(Debug, Default, PartialEq)]
pub struct RunOptions {
    /// `-S http`: link wasi-http.
    pub http: bool,
    /// `--dir`: host directory and its name in the guest.
    pub dirs: Vec<(PathBuf, String)>,
    /// `--env`: the variables given, with their values resolved.
    pub env: Vec<(String, String)>,
    /// `-C cache=n` turns the compiled-code cache off.
    pub cache: bool,
    /// The component file.
    pub file: String,
    /// The component's arguments, `file` first.
    pub argv: Vec<String>,
}

/// What `wasi-run --help` prints.
pub const USAGE: &str = "\
usage: wasi-run [run] [-S http] [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [-C cache=y|n] FILE [ARGS...]

Runs a WASI 0.2 command component as `wasmtime run` does: WASI p2 (and wasi-http
with -S http) and nothing else linked, stdio inherited, the exit status from
wasi:cli/exit (134 after a trap). Compiled code is cached in
$XDG_CACHE_HOME/wasi-run (or ~/.cache/wasi-run) unless -C cache=n.";

impl RunOptions {
    /// Parses `args` (without the program name); `lookup` reads this
    /// process's environment for `--env NAME`.
    pub fn parse(
        args: &[String],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<RunOptions, String> {
        let mut out = RunOptions {
            cache: true,
            ..RunOptions::default()
        };
        let mut it = args.iter().peekable();
        if it.peek().is_some_and(|a| *a == "run") {
            it.next();
        }
        while let Some(arg) = it.next() {
            if !arg.starts_with('-') || arg == "-" {
                out.file = arg.clone();
                out.argv = std::iter::once(arg).chain(it).cloned().collect();
                return Ok(out);
            }
            let (flag, inline) = split_flag(arg);
            let mut value = || match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or(format!("{flag} needs a value")),
            };
            match flag {
                "-S" => out.wasi_option(&value()?)?,
                "-C" => out.codegen_option(&value()?)?,
                "--dir" => {
                    let v = value()?;
                    let (host, guest) = v.split_once("::").unwrap_or((&v, &v));
                    out.dirs.push((PathBuf::from(host), guest.to_string()));
                }
                "--env" => {
                    let v = value()?;
                    match v.split_once('=') {
                        Some((k, val)) => out.env.push((k.to_string(), val.to_string())),
                        None => {
                            if let Some(val) = lookup(&v) {
                                out.env.push((v, val));
                            }
                        }
                    }
                }
                _ => return Err(format!("unsupported option `{arg}`\n\n{USAGE}")),
            }
        }
        Err(format!("no component file given\n\n{USAGE}"))
    }

    /// One `-S` setting: only `http` (`http=y`) is supported.
    fn wasi_option(&mut self, settings: &str) -> Result<(), String> {
        for s in settings.split(',') {
            self.http = switch(s, "http").ok_or(format!("unsupported -S setting `{s}`"))?;
        }
        Ok(())
    }

    /// One `-C` setting: only `cache` is supported.
    fn codegen_option(&mut self, settings: &str) -> Result<(), String> {
        for s in settings.split(',') {
            self.cache = switch(s, "cache").ok_or(format!("unsupported -C setting `{s}`"))?;
        }
        Ok(())
    }
}

/// `NAME` or `NAME=y|yes|true` → on, `NAME=n|no|false` → off, as wasmtime's
/// `-S`/`-C` booleans; `None` for anything else.
fn switch(setting: &str, name: &str) -> Option<bool> {
    match setting.strip_prefix(name)? {
        "" | "=y" | "=yes" | "=true" => Some(true),
        "=n" | "=no" | "=false" => Some(false),
        _ => None,
    }
}

/// `--flag=value` → (`--flag`, `value`); `-Svalue` → (`-S`, `value`).
fn split_flag(arg: &str) -> (&str, Option<String>) {
    if let Some((f, v)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
        return (f, Some(v.to_string()));
    }
    if !arg.starts_with("--") && arg.len() > 2 {
        return (&arg[..2], Some(arg[2..].to_string()));
    }
    (arg, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<RunOptions, String> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        RunOptions::parse(&args, |k| (k == "SET").then(|| "from-env".to_string()))
    }

    #[test]
    fn wasmtime_run_lines_parse() {
        let o = parse("run -S http --dir /d --dir=a::b --env SET --env UNSET --env K=v=w x.wasm run t.json --dir z")
            .unwrap();
        assert!(o.http && o.cache);
        assert_eq!(
            o.dirs,
            [
                (PathBuf::from("/d"), "/d".to_string()),
                (PathBuf::from("a"), "b".to_string())
            ]
        );
        assert_eq!(
            o.env,
            [
                ("SET".to_string(), "from-env".to_string()),
                ("K".to_string(), "v=w".to_string())
            ]
        );
        assert_eq!(o.file, "x.wasm");
        assert_eq!(o.argv, ["x.wasm", "run", "t.json", "--dir", "z"]);
        let o = parse("-Shttp -C cache=n x.wasm").unwrap();
        assert!(o.http && !o.cache);
        assert!(!parse("x.wasm describe").unwrap().http);
    }

    #[test]
    fn anything_else_is_refused() {
        for (line, want) in [
            (
                "-S inherit-network x.wasm",
                "unsupported -S setting `inherit-network`",
            ),
            ("--invoke f x.wasm", "unsupported option `--invoke`"),
            ("--dir", "--dir needs a value"),
            ("-S http", "no component file given"),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.starts_with(want), "{line}: {e}");
        }
    }
}
