//! The `hook` subcommands and their flags, derived from the hook interface's
//! types (the rules are in [the module docs](super)).

use std::path::Path;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use serde_json::{Map, Value};
use wasmtime::component::Type;

use crate::runner::values::{self, json_key};
use crate::runner::{HookInterface, HookMethod};

use super::super::args::ConnArgs;

/// The connection flag's default: Airflow's default Azure connection id.
const DEFAULT_CONN_ID: &str = "azure_default";

/// One flag: a parameter, or a field of a record parameter.
struct Flag {
    /// The flag's name (`resource-group` for `--resource-group`).
    long: String,
    /// The parameter it belongs to.
    param: String,
    /// The record field it fills, for a flattened record parameter.
    field: Option<String>,
    ty: Type,
    /// A top-level `string` naming a file with a JSON document.
    document: bool,
}

/// A parsed `hook` command line: the method, its JSON arguments, and where
/// connections come from.
pub struct ParsedCall {
    /// The method's WIT name.
    pub method: String,
    /// The arguments, one JSON object keyed by parameter name.
    pub args: Value,
    /// `--conn`, `--connections`, `--allow-host`.
    pub conn: ConnArgs,
}

/// Why a command line is not a call: clap's own error (usage, `--help`;
/// printed and exited by clap's rules) or ours (exit 125).
pub enum ParseError {
    /// A clap error (bad flag, bad number, `--help`).
    Clap(clap::Error),
    /// A missing flag, an unknown method, an unreadable document.
    Usage(String),
}

fn flags(method: &HookMethod) -> Vec<Flag> {
    let mut out = Vec::new();
    for (param, ty) in &method.params {
        match ty {
            Type::Record(r) => out.extend(r.fields().map(|f| Flag {
                long: f.name.to_string(),
                param: param.clone(),
                field: Some(f.name.to_string()),
                ty: f.ty.clone(),
                document: false,
            })),
            ty => out.push(Flag {
                long: param.clone(),
                param: param.clone(),
                field: None,
                ty: ty.clone(),
                document: *ty == Type::String && !param.ends_with("id"),
            }),
        }
    }
    out
}

/// The type a flag's value has: an `option`'s inner type.
fn value_type(ty: &Type) -> Type {
    match ty {
        Type::Option(o) => o.ty(),
        other => other.clone(),
    }
}

/// The JSON a flag's text stands for: strings as given, anything else in its
/// JSON form (`--tail 10`, `--ids '["a","b"]'`), checked against the type.
fn flag_json(ty: &Type, text: &str) -> Result<Value, String> {
    let json = match ty {
        Type::String | Type::Char => Value::String(text.to_string()),
        _ => serde_json::from_str(text)
            .map_err(|_| format!("`{text}` is not a {} in JSON form", values::type_name(ty)))?,
    };
    values::to_val(ty, &json, "value")?;
    Ok(json)
}

fn arg(flag: &Flag) -> Arg {
    let what = match &flag.field {
        Some(field) => format!("`{}.{field}`", flag.param),
        None => format!("`{}`", flag.param),
    };
    let arg = Arg::new(flag.long.clone()).long(flag.long.clone());
    if flag.ty == Type::Bool {
        return arg.action(ArgAction::SetTrue).help(format!("Sets {what}"));
    }
    let optional = matches!(flag.ty, Type::Option(_));
    let ty = value_type(&flag.ty);
    let arg = if flag.document {
        arg.value_name("FILE")
            .help(format!("{what}: a file holding a JSON document"))
    } else {
        let help = format!("{what} ({})", values::type_name(&ty));
        let parse = move |text: &str| flag_json(&ty, text);
        arg.value_parser(parse).help(help)
    };
    let arg = if optional {
        arg
    } else {
        arg.help_heading("Required")
    };
    if flag.long == "conn-id" && flag.ty == Type::String {
        return arg.default_value(DEFAULT_CONN_ID);
    }
    arg
}

/// The `hook` command: one subcommand per method, flags from its parameters.
pub fn command(hook: &HookInterface) -> Command {
    let methods = hook.methods.iter().map(|m| {
        // The connection flags first: `augment_args` also sets the `about`
        // of `ConnArgs`, which the method's own replaces.
        ConnArgs::augment_args(Command::new(m.name.clone()))
            .about(format!("Calls `{}` of {}", m.name, hook.name))
            .args(flags(m).iter().map(arg))
    });
    Command::new("aci-host hook")
        .about(format!("Calls a method of {}", hook.name))
        .subcommands(methods)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .allow_external_subcommands(true)
}

/// Parses `args` (`METHOD [FLAGS]`) against the hook's methods.
pub fn parse(hook: &HookInterface, args: &[String]) -> Result<ParsedCall, ParseError> {
    let argv = std::iter::once("aci-host hook").chain(args.iter().map(String::as_str));
    let matches = command(hook)
        .try_get_matches_from(argv)
        .map_err(ParseError::Clap)?;
    let Some((name, sub)) = matches.subcommand() else {
        return Err(ParseError::Usage("a hook method is required".into()));
    };
    let Some(method) = hook.method(name) else {
        return Err(ParseError::Usage(format!(
            "unknown hook method `{name}`; one of: {}",
            hook.method_names()
        )));
    };
    let conn = ConnArgs::from_arg_matches(sub).map_err(ParseError::Clap)?;
    let args = arguments(method, sub).map_err(ParseError::Usage)?;
    Ok(ParsedCall {
        method: name.to_string(),
        args,
        conn,
    })
}

/// The JSON arguments from the parsed flags; a missing required flag is an error.
fn arguments(method: &HookMethod, matches: &ArgMatches) -> Result<Value, String> {
    let mut args = Map::new();
    for flag in flags(method) {
        let value = match (&flag.ty, flag.document) {
            (Type::Bool, _) => Some(Value::Bool(matches.get_flag(&flag.long))),
            (_, true) => matches
                .get_one::<String>(&flag.long)
                .map(|path| read_document(Path::new(path)))
                .transpose()?,
            _ => matches.get_one::<Value>(&flag.long).cloned(),
        };
        let value = match value {
            Some(v) => v,
            None if matches!(flag.ty, Type::Option(_)) => continue,
            None => return Err(format!("--{} is required", flag.long)),
        };
        let param = json_key(&flag.param);
        match &flag.field {
            None => {
                args.insert(param, value);
            }
            Some(field) => {
                let record = args
                    .entry(param)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(r) = record {
                    r.insert(json_key(field), value);
                }
            }
        }
    }
    Ok(Value::Object(args))
}

/// A document flag's file: its text, which must be JSON.
fn read_document(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str::<Value>(&text)
        .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    Ok(Value::String(text))
}
