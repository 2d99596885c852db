//! The parsed trigger: the attribute's arguments and the annotated fn, with each parameter's
//! role and the output's shape. Parsing here is lenient; `validate` decides what is accepted.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, Item, ItemFn, ItemImpl, Meta,
    PathArguments, ReturnType, Signature, Token, Type, TypePath, Visibility,
};

/// The kind of function a trigger attribute registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[activity_trigger]`.
    Activity,
    /// `#[orchestration_trigger]`.
    Orchestrator,
    /// `#[entity_trigger]` on a fn (a function-based entity) or on an `impl` block (a
    /// struct-based entity).
    Entity,
}

impl Kind {
    /// The attribute's name, as the user wrote it.
    pub(crate) fn attribute(self) -> &'static str {
        self.subject().attribute
    }

    /// What the function is called in messages and docs.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Activity => "activity",
            Kind::Orchestrator => "orchestrator",
            Kind::Entity => "entity",
        }
    }

    /// How messages name the function.
    pub(crate) fn subject(self) -> Subject {
        match self {
            Kind::Activity => Subject {
                attribute: "activity_trigger",
                a_noun: "an activity",
                plural: "activity functions",
            },
            Kind::Orchestrator => Subject {
                attribute: "orchestration_trigger",
                a_noun: "an orchestrator",
                plural: "orchestrator functions",
            },
            Kind::Entity => Subject {
                attribute: "entity_trigger",
                a_noun: "an entity function",
                plural: "entity functions",
            },
        }
    }
}

/// How messages name the fn an attribute registers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject {
    /// The attribute, e.g. `activity_trigger`.
    pub(crate) attribute: &'static str,
    /// The function with its article, e.g. "an activity".
    pub(crate) a_noun: &'static str,
    /// The function in the plural, e.g. "orchestrator functions".
    pub(crate) plural: &'static str,
}

/// One of the context types, recognized by the last segment of a parameter's type path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextKind {
    /// `DurableActivityContext`.
    Activity,
    /// `DurableOrchestrationContext`.
    Orchestration,
    /// `DurableEntityContext`.
    Entity,
}

impl ContextKind {
    /// The type's name.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            ContextKind::Activity => "DurableActivityContext",
            ContextKind::Orchestration => "DurableOrchestrationContext",
            ContextKind::Entity => "DurableEntityContext",
        }
    }

    pub(crate) fn of_path(path: &TypePath) -> Option<Self> {
        let ident = type_name(path)?;
        if ident == "DurableActivityContext" {
            Some(ContextKind::Activity)
        } else if ident == "DurableOrchestrationContext" {
            Some(ContextKind::Orchestration)
        } else if ident == "DurableEntityContext" {
            Some(ContextKind::Entity)
        } else {
            None
        }
    }
}

/// The last segment of a type path without generic arguments: `durable::HttpRequest` →
/// `HttpRequest`.
pub(crate) fn type_name(path: &TypePath) -> Option<&Ident> {
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    last.arguments.is_none().then_some(&last.ident)
}

/// A whole trigger: the attribute's arguments and the item it is applied to.
pub(crate) struct Trigger {
    pub(crate) kind: Kind,
    pub(crate) args: Args,
    pub(crate) item: Annotated,
}

impl Trigger {
    /// Parses the attribute's arguments and the item.
    pub(crate) fn new(kind: Kind, args: TokenStream, item: Item) -> Self {
        let item = match item {
            Item::Fn(item) => Annotated::Fn(Box::new(Function::new(item))),
            Item::Impl(item) if kind == Kind::Entity => {
                Annotated::Impl(Box::new(EntityImpl::new(item)))
            }
            other => Annotated::Other(Box::new(other)),
        };
        Trigger { kind, args: Args::parse(args, "name"), item }
    }
}

/// The item the attribute is applied to.
pub(crate) enum Annotated {
    /// A fn, as expected.
    Fn(Box<Function>),
    /// An `impl` block under `#[entity_trigger]`: a struct-based entity.
    Impl(Box<EntityImpl>),
    /// Anything else: a struct, an impl block (but an entity's), …
    Other(Box<Item>),
}

/// The attribute's arguments: `key = value` pairs, parsed as far as they are well formed.
pub(crate) struct Args {
    /// The arguments that parsed, in order.
    pub(crate) metas: Vec<Meta>,
    /// Where parsing stopped, when it stopped before the end.
    pub(crate) error: Option<syn::Error>,
}

impl Args {
    /// Parses `key = value, …`; a lone literal is taken for the value of `bare_key` in the
    /// error message.
    pub(crate) fn parse(tokens: TokenStream, bare_key: &str) -> Self {
        let mut metas = Vec::new();
        let parser = |input: ParseStream<'_>| -> syn::Result<()> {
            while !input.is_empty() {
                let start = input.cursor();
                match input.parse::<Meta>() {
                    Ok(meta) => metas.push(meta),
                    Err(_) => {
                        return Err(not_a_key_value(start.token_stream(), input, bare_key));
                    }
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(())
        };
        let error = parser.parse2(tokens).err();
        Args { metas, error }
    }
}

/// The error for an argument that is not `key = value` at all, e.g. a bare string literal.
fn not_a_key_value(rest: TokenStream, input: ParseStream<'_>, bare_key: &str) -> syn::Error {
    let example = match syn::parse2::<syn::LitStr>(rest.into_iter().take(1).collect()) {
        Ok(lit) => format!("expected `{bare_key} = {lit:?}`", lit = lit.value()),
        Err(_) => format!("expected `{bare_key} = \"…\"`"),
    };
    input.error(example)
}

/// The annotated fn.
pub(crate) struct Function {
    /// The fn as written; it is emitted unchanged.
    pub(crate) item: ItemFn,
    /// Its parameters, in order.
    pub(crate) params: Vec<Param>,
    /// Its return type's shape.
    pub(crate) output: Output,
}

impl Function {
    fn new(item: ItemFn) -> Self {
        let params = item.sig.inputs.iter().map(Param::new).collect();
        let output = Output::new(&item.sig.output);
        Function { item, params, output }
    }

    /// Whether the fn is `async`.
    pub(crate) fn is_async(&self) -> bool {
        self.item.sig.asyncness.is_some()
    }
}

/// The `impl` block of a struct-based entity: its `pub fn`s are the operations.
pub(crate) struct EntityImpl {
    /// The block as written; it is emitted unchanged.
    pub(crate) item: ItemImpl,
    /// Its `pub fn`s, in order; the other fns are the type's own helpers.
    pub(crate) methods: Vec<Method>,
}

impl EntityImpl {
    fn new(item: ItemImpl) -> Self {
        let methods = item
            .items
            .iter()
            .filter_map(|item| match item {
                ImplItem::Fn(method) if matches!(method.vis, Visibility::Public(_)) => {
                    Some(Method::new(&method.attrs, &method.sig))
                }
                _ => None,
            })
            .collect();
        EntityImpl { item, methods }
    }
}

/// A `pub fn` of an entity's `impl` block.
pub(crate) struct Method {
    /// Its signature, as written.
    pub(crate) sig: Signature,
    /// Its doc comments, for the proxy's method.
    pub(crate) docs: Vec<Attribute>,
    /// Its parameters, the receiver first.
    pub(crate) params: Vec<Param>,
    /// Its return type's shape.
    pub(crate) output: Output,
}

impl Method {
    fn new(attrs: &[Attribute], sig: &Signature) -> Self {
        let docs = attrs.iter().filter(|attr| attr.path().is_ident("doc")).cloned().collect();
        let params = sig.inputs.iter().map(Param::new).collect();
        Method { sig: sig.clone(), docs, params, output: Output::new(&sig.output) }
    }
}

/// One parameter of the annotated fn.
pub(crate) struct Param {
    /// The parameter as written.
    pub(crate) arg: FnArg,
    /// What it is for.
    pub(crate) role: Role,
}

impl Param {
    fn new(arg: &FnArg) -> Self {
        let role = match arg {
            FnArg::Receiver(_) => Role::Receiver,
            FnArg::Typed(typed) => Role::of_type(&typed.ty),
        };
        Param { arg: arg.clone(), role }
    }
}

/// What a parameter is, judged by its type.
pub(crate) enum Role {
    /// `self`, `&self`, …
    Receiver,
    /// A context taken by value.
    Context(ContextKind),
    /// A context taken by reference, e.g. `&DurableOrchestrationContext`.
    ContextRef(ContextKind),
    /// The function's input, of this type.
    Input(Box<Type>),
}

impl Role {
    fn of_type(ty: &Type) -> Self {
        match ungroup(ty) {
            Type::Path(path) => match ContextKind::of_path(path) {
                Some(context) => Role::Context(context),
                None => Role::Input(Box::new(ty.clone())),
            },
            Type::Reference(reference) => match ungroup(&reference.elem) {
                Type::Path(path) => match ContextKind::of_path(path) {
                    Some(context) => Role::ContextRef(context),
                    None => Role::Input(Box::new(ty.clone())),
                },
                _ => Role::Input(Box::new(ty.clone())),
            },
            _ => Role::Input(Box::new(ty.clone())),
        }
    }
}

/// Looks through the invisible and explicit parentheses around a type.
pub(crate) fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// The shape of the fn's return type.
pub(crate) enum Output {
    /// No return type: the output is `()`, serialized as `null`.
    Unit,
    /// A value to serialize.
    Value(Box<Type>),
    /// A `Result`: `Ok` is serialized; `Err` fails the function with the error's message.
    Result {
        /// The whole return type.
        ty: Box<Type>,
        /// The `Ok` type.
        ok: Box<Type>,
        /// The `Err` type, when written (`Result<T, E>`); an alias such as `io::Result<T>`
        /// leaves it implicit.
        err: Option<Box<Type>>,
    },
}

impl Output {
    /// The shape of a fn's return type.
    pub(crate) fn new(output: &ReturnType) -> Self {
        let ReturnType::Type(_, ty) = output else {
            return Output::Unit;
        };
        match result_args(ty) {
            Some((ok, err)) => Output::Result {
                ty: ty.clone(),
                ok: Box::new(ok.clone()),
                err: err.cloned().map(Box::new),
            },
            None => Output::Value(ty.clone()),
        }
    }

    /// The type a caller receives: the `Ok` type of a `Result`, `()` when there is no return
    /// type.
    pub(crate) fn value(&self) -> Option<&Type> {
        match self {
            Output::Unit => None,
            Output::Value(ty) => Some(ty),
            Output::Result { ok, .. } => Some(ok),
        }
    }
}

/// The `Ok` and, when written, `Err` type arguments of a type whose path ends in `Result`.
fn result_args(ty: &Type) -> Option<(&Type, Option<&Type>)> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let ok = types.next()?;
    let err = types.next();
    Some((ok, err))
}
