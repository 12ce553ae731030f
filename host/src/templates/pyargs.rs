//! Python-style argument binding for template functions and methods:
//! positional arguments first, then keyword arguments, by parameter name.

use minijinja::value::{from_args, Kwargs, Value};
use minijinja::{Error, ErrorKind};

/// Binds `args` to `names` like a Python call: too many positional
/// arguments, unknown keywords and duplicate values are errors.
pub(super) fn bind(
    func: &str,
    args: &[Value],
    names: &[&str],
) -> Result<Vec<Option<Value>>, Error> {
    let (positional, kwargs): (&[Value], Kwargs) = from_args(args)?;
    if positional.len() > names.len() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            format!(
                "{func}() takes at most {} argument{} ({} given)",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                positional.len()
            ),
        ));
    }
    let mut out: Vec<Option<Value>> = vec![None; names.len()];
    for (slot, value) in out.iter_mut().zip(positional) {
        *slot = Some(value.clone());
    }
    for key in kwargs.args() {
        let Some(i) = names.iter().position(|n| *n == key) else {
            return Err(Error::new(
                ErrorKind::TooManyArguments,
                format!("{func}() got an unexpected keyword argument '{key}'"),
            ));
        };
        if out[i].is_some() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{func}() got multiple values for argument '{key}'"),
            ));
        }
        out[i] = Some(kwargs.peek::<Value>(key)?);
    }
    // `none` passed explicitly means "not given", as Python defaults do.
    for slot in out.iter_mut() {
        if slot.as_ref().is_some_and(|v| v.is_none()) {
            *slot = None;
        }
    }
    Ok(out)
}

/// A required argument.
pub(super) fn required(func: &str, arg: &Option<Value>, name: &str) -> Result<Value, Error> {
    arg.clone().ok_or_else(|| {
        Error::new(
            ErrorKind::MissingArgument,
            format!("{func}() missing required argument '{name}'"),
        )
    })
}

/// An argument that must be a string.
pub(super) fn string(func: &str, value: &Value, name: &str) -> Result<String, Error> {
    value.as_str().map(str::to_string).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{func}(): '{name}' must be a string, not {}", value.kind()),
        )
    })
}

/// A required argument that must be a string.
pub(super) fn required_string(
    func: &str,
    arg: &Option<Value>,
    name: &str,
) -> Result<String, Error> {
    string(func, &required(func, arg, name)?, name)
}

/// An argument that must be an integer.
pub(super) fn int(func: &str, value: &Value, name: &str) -> Result<i64, Error> {
    i64::try_from(value.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{func}(): '{name}' must be an integer, not {}",
                value.kind()
            ),
        )
    })
}

/// An argument that must be a number (integer or float).
pub(super) fn number(func: &str, value: &Value, name: &str) -> Result<f64, Error> {
    if let Ok(i) = i64::try_from(value.clone()) {
        return Ok(i as f64);
    }
    f64::try_from(value.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{func}(): '{name}' must be a number, not {}", value.kind()),
        )
    })
}

/// An `InvalidOperation` error with a message.
pub(super) fn fail(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}
