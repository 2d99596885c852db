//! An attribute's `key = value` arguments: the keys it takes, the checks of their values, and
//! the function name (`name = "…"`, or the fn's own name).

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitStr, Meta};

use crate::ctxt::Ctxt;
use crate::model::Args;

/// The longest function name the host accepts.
const MAX_NAME_LEN: usize = 128;

/// A key an attribute takes.
pub(crate) struct Key {
    /// The key, e.g. `name`.
    pub(crate) name: &'static str,
    /// Its form in messages, e.g. `name = "…"`.
    pub(crate) form: &'static str,
    /// An example of it, e.g. `name = "E1_SayHello"`.
    pub(crate) example: &'static str,
}

/// `name = "…"`: the function name, which every attribute takes.
pub(crate) const NAME: Key =
    Key { name: "name", form: r#"name = "…""#, example: r#"name = "E1_SayHello""# };

/// `max_concurrency = N`: how many invocations of an activity run at once in a process.
pub(crate) const MAX_CONCURRENCY: Key =
    Key { name: "max_concurrency", form: "max_concurrency = …", example: "max_concurrency = 4" };

/// Checks that every argument is one of `keys`, given once, as `key = value`; returns the value
/// of each key, in the order of `keys`.
pub(crate) fn values<'a, const N: usize>(
    cx: &mut Ctxt,
    args: &'a Args,
    keys: &[Key; N],
) -> [Option<&'a Expr>; N] {
    let mut values = [None; N];
    let mut seen = [false; N];
    for meta in &args.metas {
        let path = meta.path();
        let Some(index) = keys.iter().position(|key| path.is_ident(key.name)) else {
            cx.error_spanned_by(
                path,
                format_args!(
                    "unknown key `{}`; expected {}",
                    path.to_token_stream().to_string().replace(' ', ""),
                    expected(keys)
                ),
            );
            continue;
        };
        let key = &keys[index];
        if seen[index] {
            cx.error_spanned_by(path, format_args!("duplicate key `{}`; give it once", key.name));
            continue;
        }
        seen[index] = true;
        match meta {
            Meta::NameValue(pair) => values[index] = Some(&pair.value),
            _ => cx.error_spanned_by(
                meta,
                format_args!("expected `{}`, e.g. `{}`", key.form, key.example),
            ),
        }
    }
    if let Some(error) = &args.error {
        cx.syn_error(error.clone());
    }
    values
}

/// `name = "…"` when the attribute takes one key, else `one of `a = …`, `b = …``.
fn expected(keys: &[Key]) -> String {
    let forms: Vec<String> = keys.iter().map(|key| format!("`{}`", key.form)).collect();
    match forms.as_slice() {
        [one] => one.clone(),
        _ => format!("one of {}", forms.join(", ")),
    }
}

/// The string literal `key` must be set to.
pub(crate) fn lit_str<'a>(cx: &mut Ctxt, key: &Key, value: &'a Expr) -> Option<&'a LitStr> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Some(lit),
        _ => {
            cx.error_spanned_by(
                value,
                format_args!("expected a string literal: `{}`", key.example),
            );
            None
        }
    }
}

/// The `true` or `false` `key` must be set to.
pub(crate) fn lit_bool<'a>(cx: &mut Ctxt, key: &Key, value: &'a Expr) -> Option<&'a LitBool> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Bool(lit), .. }) => Some(lit),
        _ => {
            cx.error_spanned_by(
                value,
                format_args!("expected `true` or `false`: `{}`", key.example),
            );
            None
        }
    }
}

/// The limit `max_concurrency = N` sets, when it is a positive integer literal that fits a
/// `usize`.
pub(crate) fn max_concurrency(cx: &mut Ctxt, value: &Expr) -> Option<usize> {
    let Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) = value else {
        cx.error_spanned_by(
            value,
            format_args!("expected a positive integer: `{}`", MAX_CONCURRENCY.example),
        );
        return None;
    };
    match lit.base10_parse::<usize>() {
        Ok(0) => {
            cx.error_at(
                lit.span(),
                "`max_concurrency` must be at least 1; leave it out for no per-function limit",
            );
            None
        }
        Ok(limit) => Some(limit),
        Err(_) => {
            cx.error_at(
                lit.span(),
                format_args!("expected a positive integer: `{}`", MAX_CONCURRENCY.example),
            );
            None
        }
    }
}

/// The function name `name = "…"` sets, when it is valid.
pub(crate) fn function_name(cx: &mut Ctxt, value: &Expr) -> Option<String> {
    let lit = lit_str(cx, &NAME, value)?;
    let name = lit.value();
    match check_name(&name) {
        Ok(()) => Some(name),
        Err(problem) => {
            cx.error_at(lit.span(), problem);
            None
        }
    }
}

/// The function name taken from the identifier of the annotated `item` (`"fn"`, or `"type"`
/// for a struct-based entity), when no `name` is given.
pub(crate) fn default_name(cx: &mut Ctxt, attribute: &str, ident: &Ident, item: &str) -> String {
    let name = ident.unraw().to_string();
    if let Err(problem) = check_name(&name) {
        cx.error_at(
            ident.span(),
            format_args!(
                "{problem}\nthe function name defaults to the {item}'s name; give another one with `#[{attribute}(name = \"…\")]`"
            ),
        );
    }
    name
}

/// Why `name` is not a valid function name (`^[A-Za-z][A-Za-z0-9_-]{0,127}$`), if it is not.
fn check_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("a function name cannot be empty".to_owned());
    };
    if !first.is_ascii_alphabetic() {
        return Err(format!(
            "invalid function name `{name}`: it must start with a letter (A-Z, a-z)"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "invalid function name `{name}`: `{bad}` is not allowed; use letters, digits, `_` and `-`"
        ));
    }
    let len = name.len();
    if len > MAX_NAME_LEN {
        return Err(format!(
            "invalid function name `{name}`: it is {len} characters long; at most {MAX_NAME_LEN} are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        assert!(check_name("E1_SayHello").is_ok());
        assert!(check_name("a-b_1").is_ok());
        assert!(check_name(&"a".repeat(128)).is_ok());
        assert!(check_name(&"a".repeat(129)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("1a").is_err());
        assert!(check_name("_a").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("é").is_err());
    }

    #[test]
    fn expected_forms() {
        assert_eq!(expected(&[NAME]), r#"`name = "…"`"#);
        let two = [NAME, Key { name: "route", form: r#"route = "…""#, example: r#"route = "a""# }];
        assert_eq!(expected(&two), r#"one of `name = "…"`, `route = "…"`"#);
    }
}
