//! Checks a parsed trigger against the accepted forms, collecting every mistake on the span
//! the user wrote. The checks of the signature itself (`check_signature`, `receiver`) serve
//! client functions too.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, GenericArgument, Ident, PathArguments, Signature, Type};

use crate::args::{self, NAME};
use crate::ctxt::Ctxt;
use crate::model::{Annotated, ContextKind, Function, Kind, Output, Role, Subject, Trigger};

/// A trigger that passed every check, with what the checks worked out.
pub(crate) struct Valid<'a> {
    /// The annotated fn.
    pub(crate) function: &'a Function,
    /// The function name it is registered under.
    pub(crate) name: String,
    /// The typed handle's identifier (entity functions have none).
    pub(crate) handle: Option<Ident>,
    /// What the fn takes besides (for orchestrators) its context.
    pub(crate) input: Input<'a>,
}

/// What the annotated fn takes.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// Nothing (activities only).
    Nothing,
    /// Only its context.
    Context,
    /// Its input, of this type (after the context, for orchestrators).
    Value(&'a Type),
}

/// Checks `trigger`, returning every error found.
pub(crate) fn validate(trigger: &Trigger) -> Result<Valid<'_>, Vec<syn::Error>> {
    let mut cx = Ctxt::default();
    let [name] = args::values(&mut cx, &trigger.args, &[NAME]);
    let name = name.and_then(|value| args::function_name(&mut cx, value));
    let function = match &trigger.item {
        Annotated::Fn(function) => function,
        Annotated::Other(item) => {
            cx.error_spanned_by(
                item_head(item),
                format_args!("`#[{}]` applies to an `async fn` or `fn`", trigger.kind.attribute()),
            );
            return Err(cx.into_errors());
        }
    };
    let kind = trigger.kind;
    let name = match name {
        Some(name) => name,
        None => args::default_name(&mut cx, kind.attribute(), &function.item.sig.ident),
    };
    let handle = (kind != Kind::Entity).then(|| handle_ident(&mut cx, kind, function));
    check_signature(&mut cx, kind.subject(), &function.item.sig, kind != Kind::Activity);
    let input = match kind {
        Kind::Activity => activity_params(&mut cx, function),
        Kind::Orchestrator => orchestrator_params(&mut cx, function),
        Kind::Entity => entity_params(&mut cx, function),
    };
    match kind {
        Kind::Entity => check_entity_output(&mut cx, &function.output),
        Kind::Activity | Kind::Orchestrator => check_output(&mut cx, &function.output),
    }
    cx.check()?;
    // `handle_ident` recorded why when there is none.
    let handle = match handle {
        Some(handle) => Some(handle.ok_or_else(Vec::new)?),
        None => None,
    };
    Ok(Valid { function, name, handle, input })
}

/// The tokens that name an item, without its attributes and body: `struct Foo`, `impl`, ….
pub(crate) fn item_head(item: &syn::Item) -> TokenStream {
    let mut tokens = item.to_token_stream().into_iter().peekable();
    let mut head = TokenStream::new();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == '#' && head.is_empty() => {
                // An outer attribute: `#` and its `[…]`.
                tokens.next_if(|next| matches!(next, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket));
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => break,
            TokenTree::Punct(punct) if matches!(punct.as_char(), ';' | '=' | '<') => break,
            _ => head.extend([token]),
        }
    }
    head
}

/// The handle's identifier: the fn's identifier in CamelCase.
fn handle_ident(cx: &mut Ctxt, kind: Kind, function: &Function) -> Option<Ident> {
    let ident = &function.item.sig.ident;
    let snake = ident.unraw().to_string();
    let camel = camel_case(&snake);
    let attribute = kind.attribute();
    let message = match syn::parse_str::<Ident>(&camel) {
        Ok(_) if camel != snake => return Some(Ident::new(&camel, ident.span())),
        Ok(_) => format!(
            "`#[{attribute}]` defines a typed handle named after the fn in CamelCase, so the fn cannot be named `{camel}` itself; name it in snake_case, e.g. `say_hello` (handle `SayHello`)"
        ),
        Err(_) => format!(
            "`#[{attribute}]` defines a typed handle named after the fn in CamelCase, and `{camel}` is not a valid type name; name the fn in snake_case, e.g. `say_hello` (handle `SayHello`)"
        ),
    };
    cx.error_at(ident.span(), message);
    None
}

/// `say_hello` → `SayHello`, `e1_say_hello` → `E1SayHello`.
fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().into_iter().flat_map(char::to_uppercase).chain(chars)
        })
        .collect()
}

/// Checks what the signature may not have, whatever its parameters; `async_only` when it
/// must be an `async fn`.
pub(crate) fn check_signature(cx: &mut Ctxt, subject: Subject, sig: &Signature, async_only: bool) {
    let Subject { attribute, a_noun, plural } = subject;
    if let Some(constness) = &sig.constness {
        cx.error_spanned_by(
            constness,
            format_args!("{a_noun} cannot be a `const fn`; remove `const`"),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            format_args!("{a_noun} cannot be an `unsafe fn`; remove `unsafe`"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format_args!("{a_noun} cannot be an `extern` fn; remove `{}`", abi.to_token_stream()),
        );
    }
    if sig.asyncness.is_none() && async_only {
        cx.error_spanned_by(
            sig.fn_token,
            format_args!("{plural} must be `async fn`: write `async fn`"),
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            format_args!(
                "{a_noun} cannot be generic: `#[{attribute}]` registers one fn with concrete input and output types"
            ),
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        cx.error_spanned_by(
            where_clause,
            format_args!("{a_noun} cannot have a `where` clause: its types must be concrete"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, format_args!("{a_noun} cannot be variadic"));
    }
}

/// An activity takes its input, its context, or nothing.
fn activity_params<'a>(cx: &mut Ctxt, function: &'a Function) -> Input<'a> {
    let mut input = Input::Nothing;
    for param in &function.params {
        match &param.role {
            Role::Receiver => receiver(cx, Kind::Activity.subject(), &param.arg),
            Role::Context(ContextKind::Activity) => input = Input::Context,
            Role::ContextRef(ContextKind::Activity) => {
                by_value(cx, &param.arg, ContextKind::Activity)
            }
            Role::Context(other @ (ContextKind::Orchestration | ContextKind::Entity))
            | Role::ContextRef(other @ (ContextKind::Orchestration | ContextKind::Entity)) => cx
                .error_spanned_by(
                    param_type(&param.arg),
                    format_args!(
                        "an activity takes `context: DurableActivityContext`, not `{}`",
                        other.type_name()
                    ),
                ),
            Role::Input(ty) => {
                check_input(cx, ty);
                input = Input::Value(ty);
            }
        }
    }
    // `self` has its own error; count the others.
    let params: Vec<_> =
        function.params.iter().filter(|param| !matches!(param.role, Role::Receiver)).collect();
    if params.len() > 1 {
        let mut extra = TokenStream::new();
        for param in &params[1..] {
            param.arg.to_tokens(&mut extra);
        }
        cx.error_spanned_by(
            extra,
            "an activity takes one parameter: its input (`name: String`) or its context (`context: DurableActivityContext`)",
        );
    }
    input
}

/// An orchestrator takes its context, then optionally its input.
fn orchestrator_params<'a>(cx: &mut Ctxt, function: &'a Function) -> Input<'a> {
    const FIRST: &str =
        "an orchestrator takes `context: DurableOrchestrationContext` as its first parameter";
    let mut input = Input::Context;
    let params = function.params.as_slice();
    match params.first().map(|p| (p, &p.role)) {
        None => {
            let parens = function.item.sig.paren_token.span.join();
            cx.error_at(parens, format_args!("{FIRST}: `(context: DurableOrchestrationContext)`"));
        }
        Some((_, Role::Context(ContextKind::Orchestration))) => {}
        Some((param, Role::Receiver)) => receiver(cx, Kind::Orchestrator.subject(), &param.arg),
        Some((param, Role::ContextRef(ContextKind::Orchestration))) => {
            by_value(cx, &param.arg, ContextKind::Orchestration);
        }
        Some((
            param,
            Role::Context(other @ (ContextKind::Activity | ContextKind::Entity))
            | Role::ContextRef(other @ (ContextKind::Activity | ContextKind::Entity)),
        )) => {
            cx.error_spanned_by(
                param_type(&param.arg),
                format_args!(
                    "an orchestrator takes `context: DurableOrchestrationContext`, not `{}`",
                    other.type_name()
                ),
            );
        }
        Some((param, _)) => {
            if let Some(Role::Context(ContextKind::Orchestration)) = params.get(1).map(|p| &p.role)
            {
                // `(input: T, context: DurableOrchestrationContext)`: one error, on the input.
                cx.error_spanned_by(&param.arg, format_args!("{FIRST}; put the input after it"));
                return input;
            }
            cx.error_spanned_by(&param.arg, FIRST);
        }
    }
    if let Some(param) = params.get(1) {
        match &param.role {
            Role::Input(ty) => {
                check_input(cx, ty);
                input = Input::Value(ty);
            }
            Role::Receiver => receiver(cx, Kind::Orchestrator.subject(), &param.arg),
            Role::Context(_) | Role::ContextRef(_) => cx.error_spanned_by(
                &param.arg,
                "an orchestrator takes its context once; its second parameter is its input, e.g. `input: String`",
            ),
        }
    }
    if params.len() > 2 {
        let mut extra = TokenStream::new();
        for param in &params[2..] {
            param.arg.to_tokens(&mut extra);
        }
        cx.error_spanned_by(
            extra,
            "an orchestrator takes at most two parameters: `context: DurableOrchestrationContext` and its input, e.g. `input: String`",
        );
    }
    input
}

/// A function-based entity takes its context and nothing else: the operation's input comes
/// from `ctx.get_input()`.
fn entity_params<'a>(cx: &mut Ctxt, function: &'a Function) -> Input<'a> {
    const ONE: &str = "an entity function takes one parameter, its context: `ctx: DurableEntityContext` (read the operation's input with `ctx.get_input()`)";
    let params = function.params.as_slice();
    match params.first().map(|p| (p, &p.role)) {
        None => {
            let parens = function.item.sig.paren_token.span.join();
            cx.error_at(parens, ONE);
        }
        Some((_, Role::Context(ContextKind::Entity))) => {}
        Some((param, Role::Receiver)) => receiver(cx, Kind::Entity.subject(), &param.arg),
        Some((param, Role::ContextRef(ContextKind::Entity))) => {
            by_value(cx, &param.arg, ContextKind::Entity);
        }
        Some((param, _)) => cx.error_spanned_by(&param.arg, ONE),
    }
    if params.len() > 1 {
        let mut extra = TokenStream::new();
        for param in &params[1..] {
            param.arg.to_tokens(&mut extra);
        }
        cx.error_spanned_by(extra, ONE);
    }
    Input::Context
}

/// An entity function returns nothing, or `Result<(), E>`: what a caller receives is set with
/// `ctx.return_value(…)`.
fn check_entity_output(cx: &mut Ctxt, output: &Output) {
    let unit =
        |ty: &Type| matches!(crate::model::ungroup(ty), Type::Tuple(t) if t.elems.is_empty());
    match output {
        Output::Unit => {}
        Output::Result { ok, .. } if unit(ok) => {}
        Output::Result { ok, .. } => cx.error_spanned_by(
            ok,
            "an entity function returns `Result<(), E>`: set what a caller receives with `ctx.return_value(…)`",
        ),
        Output::Value(ty) if unit(ty) => {}
        Output::Value(ty) => cx.error_spanned_by(
            ty,
            "an entity function returns nothing or `Result<(), E>`: set what a caller receives with `ctx.return_value(…)`",
        ),
    }
}

/// The error for `self`.
pub(crate) fn receiver(cx: &mut Ctxt, subject: Subject, arg: &FnArg) {
    cx.error_spanned_by(
        arg,
        format_args!("{} is a free fn, not a method: remove `self`", subject.a_noun),
    );
}

fn by_value(cx: &mut Ctxt, arg: &FnArg, context: ContextKind) {
    cx.error_spanned_by(
        param_type(arg),
        format_args!("take the context by value: `context: {}`", context.type_name()),
    );
}

/// The type of a parameter, or `self`.
pub(crate) fn param_type(arg: &FnArg) -> TokenStream {
    match arg {
        FnArg::Typed(typed) => typed.ty.to_token_stream(),
        FnArg::Receiver(receiver) => receiver.to_token_stream(),
    }
}

/// Inputs are deserialized: no references, no `impl Trait`.
fn check_input(cx: &mut Ctxt, ty: &Type) {
    for part in borrowed_parts(ty) {
        let message = match part {
            Type::ImplTrait(_) => {
                "inputs are deserialized into one concrete type, so name it (e.g. `String`) instead of using `impl Trait`"
            }
            Type::Reference(reference) if is_str(&reference.elem) => {
                "inputs are deserialized, so take an owned type such as `String` instead of `&str`"
            }
            _ => {
                "inputs are deserialized, so take an owned type such as `String` rather than a reference"
            }
        };
        cx.error_spanned_by(part, message);
    }
}

/// Outputs are deserialized by the caller: no references, no `impl Trait`. (A `Result`'s error
/// type only needs `Display`, so `&'static str` and `impl Display` are fine there.)
fn check_output(cx: &mut Ctxt, output: &Output) {
    let Some(ty) = output.value() else {
        return;
    };
    for part in borrowed_parts(ty) {
        let message = match part {
            Type::ImplTrait(_) => {
                "outputs are deserialized by the caller into one concrete type, so name it (e.g. `String`) instead of using `impl Trait`"
            }
            Type::Reference(reference) if is_str(&reference.elem) => {
                "outputs are deserialized by the caller, so return an owned type such as `String` instead of `&str`"
            }
            _ => {
                "outputs are deserialized by the caller, so return an owned type such as `String` rather than a reference"
            }
        };
        cx.error_spanned_by(part, message);
    }
}

fn is_str(ty: &Type) -> bool {
    matches!(crate::model::ungroup(ty), Type::Path(path) if path.qself.is_none() && path.path.is_ident("str"))
}

/// The references and `impl Trait`s anywhere in `ty`.
fn borrowed_parts(ty: &Type) -> Vec<&Type> {
    let mut parts = Vec::new();
    collect_borrowed(ty, &mut parts);
    parts
}

fn collect_borrowed<'a>(ty: &'a Type, parts: &mut Vec<&'a Type>) {
    match ty {
        Type::Reference(_) | Type::ImplTrait(_) => parts.push(ty),
        Type::Path(path) => {
            if let Some(qself) = &path.qself {
                collect_borrowed(&qself.ty, parts);
            }
            for segment in &path.path.segments {
                if let PathArguments::AngleBracketed(args) = &segment.arguments {
                    for arg in &args.args {
                        if let GenericArgument::Type(ty) = arg {
                            collect_borrowed(ty, parts);
                        }
                    }
                }
            }
        }
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|ty| collect_borrowed(ty, parts)),
        Type::Array(array) => collect_borrowed(&array.elem, parts),
        Type::Slice(slice) => collect_borrowed(&slice.elem, parts),
        Type::Paren(paren) => collect_borrowed(&paren.elem, parts),
        Type::Group(group) => collect_borrowed(&group.elem, parts),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_of_fn_names() {
        assert_eq!(camel_case("say_hello"), "SayHello");
        assert_eq!(camel_case("e1_say_hello"), "E1SayHello");
        assert_eq!(camel_case("hello"), "Hello");
        assert_eq!(camel_case("_private__fn_"), "PrivateFn");
    }
}
