//! Checks a parsed trigger against the accepted forms, collecting every mistake on the span
//! the user wrote. The checks of the signature itself (`check_signature`, `receiver`) serve
//! client functions too.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{FnArg, GenericArgument, Ident, PathArguments, Signature, Type};

use crate::args::{self, MAX_CONCURRENCY, NAME};
use crate::ctxt::Ctxt;
use crate::model::{
    Annotated, ContextKind, EntityImpl, Function, Kind, Method, Output, Param, Role, Subject,
    Trigger,
};

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
    /// The per-function concurrency limit (`max_concurrency = N`, activities only).
    pub(crate) max_concurrency: Option<usize>,
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

/// A trigger that passed every check: a fn, or an entity's `impl` block.
pub(crate) enum Checked<'a> {
    /// An activity, orchestrator or function-based entity.
    Fn(Valid<'a>),
    /// A struct-based entity.
    Impl(ValidImpl<'a>),
}

/// Checks `trigger`, returning every error found.
pub(crate) fn validate(trigger: &Trigger) -> Result<Checked<'_>, Vec<syn::Error>> {
    let mut cx = Ctxt::default();
    // Activities also take a per-function concurrency limit.
    let (name, max_concurrency) = match trigger.kind {
        Kind::Activity => {
            let [name, max] = args::values(&mut cx, &trigger.args, &[NAME, MAX_CONCURRENCY]);
            (name, max.and_then(|value| args::max_concurrency(&mut cx, value)))
        }
        Kind::Orchestrator | Kind::Entity => {
            let [name] = args::values(&mut cx, &trigger.args, &[NAME]);
            (name, None)
        }
    };
    let name = name.and_then(|value| args::function_name(&mut cx, value));
    let function = match &trigger.item {
        Annotated::Fn(function) => function,
        Annotated::Impl(entity) => return validate_impl(cx, name, entity).map(Checked::Impl),
        Annotated::Other(item) => {
            let applies_to = match trigger.kind {
                Kind::Entity => "an `async fn` or an `impl` block",
                Kind::Activity | Kind::Orchestrator => "an `async fn` or `fn`",
            };
            cx.error_spanned_by(
                item_head(item),
                format_args!("`#[{}]` applies to {applies_to}", trigger.kind.attribute()),
            );
            return Err(cx.into_errors());
        }
    };
    let kind = trigger.kind;
    let name = match name {
        Some(name) => name,
        None => args::default_name(&mut cx, kind.attribute(), &function.item.sig.ident, "fn"),
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
    Ok(Checked::Fn(Valid { function, name, handle, input, max_concurrency }))
}

/// A struct-based entity that passed every check.
pub(crate) struct ValidImpl<'a> {
    /// The `impl` block.
    pub(crate) entity: &'a EntityImpl,
    /// The entity's type, as the `impl` header names it.
    pub(crate) self_ty: &'a Type,
    /// The type's name: the proxy is named after it.
    pub(crate) ident: &'a Ident,
    /// The function name it is registered under.
    pub(crate) name: String,
    /// Its operations, in the order of the `impl` block.
    pub(crate) operations: Vec<Operation<'a>>,
    /// Whether `delete` is the implicit operation that deletes the state (no method is named
    /// `delete`).
    pub(crate) implicit_delete: bool,
}

/// One operation of a struct-based entity: a `pub fn` of its `impl` block.
pub(crate) struct Operation<'a> {
    /// The method.
    pub(crate) method: &'a Method,
    /// The operation's name: the method's.
    pub(crate) name: String,
    /// Whether it takes `&mut self`.
    pub(crate) mutates: bool,
    /// Its input parameter, if it takes one.
    pub(crate) input: Option<&'a syn::PatType>,
}

/// Checks an entity's `impl` block: an inherent impl of one concrete type, whose `pub fn`s
/// each take `&self` or `&mut self` and at most one input.
fn validate_impl(
    mut cx: Ctxt,
    name: Option<String>,
    entity: &EntityImpl,
) -> Result<ValidImpl<'_>, Vec<syn::Error>> {
    let item = &entity.item;
    if let Some((_, path, for_token)) = &item.trait_ {
        let mut tokens = path.to_token_stream();
        for_token.to_tokens(&mut tokens);
        cx.error_spanned_by(
            tokens,
            "`#[entity_trigger]` applies to the type's own `impl` block (`impl Counter { … }`), not to a trait impl: the block's `pub fn`s are the entity's operations",
        );
    }
    if let Some(unsafety) = &item.unsafety {
        cx.error_spanned_by(unsafety, "an entity's `impl` block cannot be `unsafe`");
    }
    if let Some(defaultness) = &item.defaultness {
        cx.error_spanned_by(defaultness, "an entity's `impl` block cannot be `default`");
    }
    const CONCRETE: &str = "a struct-based entity is one concrete type: its state is deserialized into it, so it cannot be generic";
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, CONCRETE);
    }
    if let Some(where_clause) = &item.generics.where_clause {
        cx.error_spanned_by(where_clause, CONCRETE);
    }
    let ident = entity_type_name(&mut cx, &item.self_ty);
    let name = match (name, ident) {
        (Some(name), _) => Some(name),
        (None, Some(ident)) => {
            Some(args::default_name(&mut cx, Kind::Entity.attribute(), ident, "type"))
        }
        (None, None) => None,
    };

    let mut operations: Vec<Operation<'_>> = Vec::new();
    for method in &entity.methods {
        let Some(operation) = check_method(&mut cx, method) else {
            continue;
        };
        if let Some(first) =
            operations.iter().find(|o| o.name.eq_ignore_ascii_case(&operation.name))
        {
            cx.error_spanned_by(
                &method.sig.ident,
                format_args!(
                    "operation names are matched ignoring case, so `{}` and `{}` would be the same operation; rename one",
                    first.name, operation.name
                ),
            );
            continue;
        }
        operations.push(operation);
    }
    cx.check()?;
    let (Some(ident), Some(name)) = (ident, name) else {
        // `entity_type_name` recorded why.
        return Err(Vec::new());
    };
    let implicit_delete = !operations.iter().any(|o| o.name.eq_ignore_ascii_case("delete"));
    Ok(ValidImpl { entity, self_ty: &item.self_ty, ident, name, operations, implicit_delete })
}

/// The name of the type an entity's `impl` block is for, when it is a plain type name.
fn entity_type_name<'a>(cx: &mut Ctxt, self_ty: &'a Type) -> Option<&'a Ident> {
    if let Type::Path(path) = crate::model::ungroup(self_ty)
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
    {
        if last.arguments.is_none() {
            return Some(&last.ident);
        }
        cx.error_spanned_by(
            &last.arguments,
            "a struct-based entity is one concrete type: its state is deserialized into it, so it cannot take generic arguments",
        );
        return None;
    }
    cx.error_spanned_by(
        self_ty,
        "`#[entity_trigger]` applies to the `impl` block of a struct or enum, e.g. `impl Counter { … }`",
    );
    None
}

/// Checks one `pub fn` of an entity's `impl` block; its operation when the receiver is right.
fn check_method<'a>(cx: &mut Ctxt, method: &'a Method) -> Option<Operation<'a>> {
    let sig = &method.sig;
    if let Some(unsafety) = &sig.unsafety {
        cx.error_spanned_by(
            unsafety,
            "an entity operation cannot be an `unsafe fn`; remove `unsafe`",
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format_args!(
                "an entity operation cannot be an `extern` fn; remove `{}`",
                abi.to_token_stream()
            ),
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "an entity operation cannot be generic: its input is deserialized into, and its output read as, one concrete type; make the fn private (without `pub`) if it is a helper",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        cx.error_spanned_by(
            where_clause,
            "an entity operation cannot have a `where` clause: its types must be concrete",
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "an entity operation cannot be variadic");
    }

    let (receiver, rest) = match method.params.split_first() {
        Some((Param { arg: FnArg::Receiver(receiver), .. }, rest)) => (Some(receiver), rest),
        _ => (None, method.params.as_slice()),
    };
    let mutates = match receiver {
        Some(receiver) if receiver.reference.is_some() => Some(receiver.mutability.is_some()),
        Some(receiver) => {
            cx.error_spanned_by(
                receiver,
                "an entity operation takes `&self` or `&mut self`: the entity keeps its state between operations, so it cannot be taken by value",
            );
            None
        }
        None => {
            cx.error_at(
                sig.paren_token.span.join(),
                "an entity operation takes `&self` or `&mut self` first, e.g. `pub fn add(&mut self, amount: i32)`; make the fn private (without `pub`) if it is not an operation",
            );
            None
        }
    };

    let mut input = None;
    if let Some(param) = rest.first() {
        match (&param.role, &param.arg) {
            (Role::Input(ty), FnArg::Typed(typed)) => {
                check_input(cx, ty);
                input = Some(typed);
            }
            (Role::Context(_) | Role::ContextRef(_), _) => cx.error_spanned_by(
                &param.arg,
                "an entity operation takes its input only; reach the entity's context with `DurableEntityContext::current()`",
            ),
            // A second receiver does not parse.
            (_, _) => {}
        }
    }
    if rest.len() > 1 {
        let mut extra = TokenStream::new();
        for param in &rest[1..] {
            param.arg.to_tokens(&mut extra);
        }
        cx.error_spanned_by(
            extra,
            "an entity operation takes at most one input; take several values as one struct or tuple, e.g. `(from, to): (u32, u32)`",
        );
    }
    check_output(cx, &method.output);
    Some(Operation { method, name: sig.ident.unraw().to_string(), mutates: mutates?, input })
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
