//! Client functions (`[DurableClient]` in C#): a trigger, `#[http_trigger(…)]` or
//! `#[timer_trigger(…)]`, optionally combined with `#[orchestration_client]` on the same fn.
//!
//! Attribute macros expand outermost first, so whichever of the attributes runs first finds the
//! others among the fn's attributes (by the last segment of their path), removes them and
//! expands the whole function: the combination is checked here, the parameters are classified
//! by type into a [`ClientFunction`], and the trigger's own checks and expansion are in `http`
//! and `timer`.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, Item, ItemFn, Meta, Pat, Type};

use crate::ctxt::Ctxt;
use crate::expand::with_errors;
use crate::model::{Args, ContextKind, Output, Subject, type_name, ungroup};
use crate::validate::{item_head, param_type, receiver};
use crate::{http, timer};

/// One of the attributes of a client function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    /// `#[orchestration_client]`.
    Client,
    /// `#[http_trigger(…)]` or `#[timer_trigger(…)]`.
    Trigger(TriggerKind),
}

/// The triggers of client functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerKind {
    /// `#[http_trigger(…)]`.
    Http,
    /// `#[timer_trigger(…)]`.
    Timer,
}

impl Attribute {
    /// The attribute's name, as the user writes it.
    fn name(self) -> &'static str {
        match self {
            Attribute::Client => "orchestration_client",
            Attribute::Trigger(TriggerKind::Http) => "http_trigger",
            Attribute::Trigger(TriggerKind::Timer) => "timer_trigger",
        }
    }

    /// The attribute `attr` is, judged by the last segment of its path.
    fn of(attr: &syn::Attribute) -> Option<Self> {
        let ident = &attr.path().segments.last()?.ident;
        [
            Attribute::Client,
            Attribute::Trigger(TriggerKind::Http),
            Attribute::Trigger(TriggerKind::Timer),
        ]
        .into_iter()
        .find(|attribute| ident == attribute.name())
    }
}

/// Where an attribute is written.
#[derive(Clone)]
pub(crate) enum Site {
    /// The attribute being expanded.
    CallSite,
    /// One found among the fn's attributes.
    Attr(Box<syn::Attribute>),
}

impl Site {
    /// An error on the whole attribute.
    pub(crate) fn error(&self, message: impl Display) -> syn::Error {
        match self {
            Site::CallSite => syn::Error::new(Span::call_site(), message),
            Site::Attr(attr) => syn::Error::new_spanned(attr, message),
        }
    }
}

/// One of the client function's attributes, as written.
struct Written {
    attribute: Attribute,
    site: Site,
    /// What is between its parentheses.
    args: TokenStream,
}

/// Expands `invoked`, with these arguments, on this item, together with the other client
/// function attributes on it. On error, the item is emitted without them, next to the errors.
pub(crate) fn attribute(invoked: Attribute, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item_fn = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(item_fn)) => item_fn,
        Ok(other) => {
            let error = syn::Error::new_spanned(
                item_head(&other),
                format_args!("`#[{}]` applies to an `async fn`", invoked.name()),
            );
            return with_errors(item, &[error]);
        }
        // Not an item at all: rustc reports the syntax error itself.
        Err(_) => return item,
    };
    let mut cx = Ctxt::default();
    let mut written = vec![Written { attribute: invoked, site: Site::CallSite, args }];
    written.extend(take_attributes(&mut cx, &mut item_fn));
    let Some((trigger, client)) = combine(&mut cx, written) else {
        return with_errors(&item_fn, &cx.into_errors());
    };
    let function = ClientFunction::new(item_fn, trigger, client);
    let expanded = match function.trigger {
        TriggerKind::Http => http::validate(cx, &function).map(|valid| http::expand(&valid)),
        TriggerKind::Timer => timer::validate(cx, &function).map(|valid| timer::expand(&valid)),
    };
    expanded.unwrap_or_else(|errors| with_errors(&function.item, &errors))
}

/// Removes the client function attributes from the fn's attributes and returns them.
fn take_attributes(cx: &mut Ctxt, item: &mut ItemFn) -> Vec<Written> {
    let mut written = Vec::new();
    item.attrs.retain(|attr| {
        let Some(attribute) = Attribute::of(attr) else {
            return true;
        };
        let args = match &attr.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(list) => list.tokens.clone(),
            Meta::NameValue(pair) => {
                cx.error_spanned_by(
                    pair,
                    format_args!("expected `#[{name}]` or `#[{name}(…)]`", name = attribute.name()),
                );
                TokenStream::new()
            }
        };
        written.push(Written { attribute, site: Site::Attr(Box::new(attr.clone())), args });
        false
    });
    written
}

/// The trigger, and whether `#[orchestration_client]` is there; `None` without a trigger.
fn combine(cx: &mut Ctxt, written: Vec<Written>) -> Option<(Trigger, bool)> {
    let mut client = None;
    let mut trigger: Option<Trigger> = None;
    for Written { attribute, site, args } in written {
        match attribute {
            Attribute::Client if client.is_some() => {
                cx.syn_error(site.error("duplicate `#[orchestration_client]`; give it once"));
            }
            Attribute::Client => {
                if !args.is_empty() {
                    cx.error_spanned_by(args, "`#[orchestration_client]` takes no arguments");
                }
                client = Some(site);
            }
            Attribute::Trigger(kind) => match &trigger {
                Some(first) if first.kind == kind => cx.syn_error(site.error(format_args!(
                    "duplicate `#[{}]`: a function has one trigger",
                    attribute.name()
                ))),
                Some(first) => cx.syn_error(site.error(format_args!(
                    "a function has one trigger: remove `#[{}]` or `#[{}]`",
                    Attribute::Trigger(first.kind).name(),
                    attribute.name()
                ))),
                None => {
                    let bare_key = match kind {
                        TriggerKind::Http => "route",
                        TriggerKind::Timer => "schedule",
                    };
                    trigger = Some(Trigger { kind, site, args: Args::parse(args, bare_key) });
                }
            },
        }
    }
    match (trigger, client) {
        (Some(trigger), client) => Some((trigger, client.is_some())),
        (None, Some(site)) => {
            cx.syn_error(site.error(
                "a client function needs a trigger: add `#[http_trigger(...)]` or `#[timer_trigger(schedule = \"...\")]`",
            ));
            None
        }
        // The invoked attribute is one of the two.
        (None, None) => None,
    }
}

/// The trigger attribute of a client function.
struct Trigger {
    kind: TriggerKind,
    site: Site,
    args: Args,
}

/// A client function: the fn, its trigger's arguments and its parameters' roles.
pub(crate) struct ClientFunction {
    /// The fn, without the client function attributes; it is emitted so.
    pub(crate) item: ItemFn,
    /// Its trigger.
    pub(crate) trigger: TriggerKind,
    /// Where the trigger attribute is written, for errors about it as a whole.
    pub(crate) site: Site,
    /// The trigger's arguments.
    pub(crate) args: Args,
    /// Whether `#[orchestration_client]` is on the fn.
    pub(crate) client: bool,
    /// Its parameters, in order.
    pub(crate) params: Vec<ClientParam>,
    /// Its return type's shape.
    pub(crate) output: Output,
}

impl ClientFunction {
    fn new(item: ItemFn, trigger: Trigger, client: bool) -> Self {
        let params = item.sig.inputs.iter().map(ClientParam::new).collect();
        let output = Output::new(&item.sig.output);
        ClientFunction {
            item,
            trigger: trigger.kind,
            site: trigger.site,
            args: trigger.args,
            client,
            params,
            output,
        }
    }
}

/// One parameter of a client function.
pub(crate) struct ClientParam {
    /// The parameter as written.
    pub(crate) arg: FnArg,
    /// What it is, judged by its type.
    pub(crate) role: ClientRole,
}

impl ClientParam {
    fn new(arg: &FnArg) -> Self {
        let role = match arg {
            FnArg::Receiver(_) => ClientRole::Receiver,
            FnArg::Typed(typed) => ClientRole::of(&typed.pat, &typed.ty),
        };
        ClientParam { arg: arg.clone(), role }
    }
}

/// What a client function's parameter is, judged by its type.
pub(crate) enum ClientRole {
    /// `self`, `&self`, …
    Receiver,
    /// An activity or orchestration context, by value or by reference.
    Context(ContextKind),
    /// One of the types the runtime passes.
    Known(Known, Taken),
    /// Anything else: an HTTP function's route parameter.
    Other {
        /// The parameter's pattern.
        pat: Box<Pat>,
        /// Its type.
        ty: Box<Type>,
    },
}

impl ClientRole {
    fn of(pat: &Pat, ty: &Type) -> Self {
        let other = || ClientRole::Other { pat: Box::new(pat.clone()), ty: Box::new(ty.clone()) };
        let (path, taken) = match ungroup(ty) {
            Type::Path(path) => (path, Taken::Value),
            Type::Reference(reference) => match ungroup(&reference.elem) {
                Type::Path(path) if reference.mutability.is_some() => (path, Taken::RefMut),
                Type::Path(path) => (path, Taken::Ref),
                _ => return other(),
            },
            _ => return other(),
        };
        if let Some(context) = ContextKind::of_path(path) {
            return ClientRole::Context(context);
        }
        let known = match type_name(path) {
            Some(ident) if ident == "HttpRequest" => Known::Request,
            Some(ident) if ident == "DurableOrchestrationClient" => Known::Client,
            Some(ident) if ident == "TimerInfo" => Known::Timer,
            _ => return other(),
        };
        ClientRole::Known(known, taken)
    }
}

/// The types the runtime passes to client functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// `HttpRequest`.
    Request,
    /// `DurableOrchestrationClient`.
    Client,
    /// `TimerInfo`.
    Timer,
}

/// How a parameter is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// `T`.
    Value,
    /// `&T`.
    Ref,
    /// `&mut T`.
    RefMut,
}

/// Checks the parameters every client function judges alike: `self`, a context and the client.
/// Returns whether `param` is one of them; `client` records that the client was taken.
pub(crate) fn common_param(
    cx: &mut Ctxt,
    subject: Subject,
    function: &ClientFunction,
    param: &ClientParam,
    client: &mut bool,
) -> bool {
    match &param.role {
        ClientRole::Receiver => receiver(cx, subject, &param.arg),
        ClientRole::Context(context) => cx.error_spanned_by(
            param_type(&param.arg),
            format_args!(
                "{} takes no `{}`: start and manage orchestrations with `starter: DurableOrchestrationClient` and `#[orchestration_client]`",
                subject.a_noun,
                context.type_name()
            ),
        ),
        ClientRole::Known(Known::Client, taken) => {
            if !function.client {
                cx.error_spanned_by(
                    &param.arg,
                    "add `#[orchestration_client]` to the fn to take a `DurableOrchestrationClient`",
                );
            } else if *taken != Taken::Value {
                cx.error_spanned_by(
                    param_type(&param.arg),
                    "take the client by value: `starter: DurableOrchestrationClient`",
                );
            } else if *client {
                cx.error_spanned_by(
                    &param.arg,
                    format_args!("{} takes the client once", subject.a_noun),
                );
            }
            *client = true;
        }
        ClientRole::Known(..) | ClientRole::Other { .. } => return false,
    }
    true
}

/// The expansion of `attribute` with these arguments on this item, as a string: for the
/// expansion tests of every client trigger.
#[cfg(test)]
pub(crate) fn expand_str(attribute: Attribute, args: &str, item: &str) -> String {
    let args: TokenStream = args.parse().unwrap_or_default();
    let item: TokenStream = item.parse().unwrap_or_default();
    self::attribute(attribute, args, item).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTP: Attribute = Attribute::Trigger(TriggerKind::Http);
    const TIMER: Attribute = Attribute::Trigger(TriggerKind::Timer);

    #[test]
    fn either_attribute_expands_the_pair() {
        let item = "async fn start(req: HttpRequest, starter: DurableOrchestrationClient) -> HttpResponse { todo!() }";
        let client_first = expand_str(
            Attribute::Client,
            "",
            &format!("#[durable::http_trigger(methods = [\"post\"])] {item}"),
        );
        let trigger_first =
            expand_str(HTTP, "methods = [\"post\"]", &format!("#[orchestration_client] {item}"));
        assert_eq!(client_first, trigger_first);
        assert!(client_first.starts_with("async fn start"), "{client_first}");
        assert!(!client_first.contains("compile_error"), "{client_first}");
        assert!(client_first.contains("HttpFunctionRegistration"), "{client_first}");
    }

    #[test]
    fn other_attributes_stay() {
        let out = expand_str(
            TIMER,
            r#"schedule = "0 0 * * * *""#,
            "#[doc = \"Hourly.\"] #[allow(unused)] async fn hourly() {}",
        );
        assert!(
            out.starts_with("# [doc = \"Hourly.\"] # [allow (unused)] async fn hourly"),
            "{out}"
        );
    }

    #[test]
    fn a_client_needs_one_trigger() {
        let alone = expand_str(Attribute::Client, "", "async fn f() {}");
        assert!(alone.contains("a client function needs a trigger"), "{alone}");
        assert!(alone.starts_with("async fn f"), "{alone}");
        let both = expand_str(
            Attribute::Client,
            "",
            "#[http_trigger] #[timer_trigger(schedule = \"0 0 * * * *\")] async fn f() -> HttpResponse { todo!() }",
        );
        assert!(both.contains("a function has one trigger"), "{both}");
        // The trigger attributes are gone, so that they do not report again.
        assert!(!both.contains("# [http_trigger]"), "{both}");
        let twice = expand_str(
            Attribute::Client,
            "",
            "#[orchestration_client] #[http_trigger] async fn f() -> HttpResponse { todo!() }",
        );
        assert!(twice.contains("duplicate `#[orchestration_client]`"), "{twice}");
    }

    #[test]
    fn a_client_parameter_needs_the_attribute() {
        let out = expand_str(
            HTTP,
            "",
            "async fn f(starter: DurableOrchestrationClient) -> HttpResponse { todo!() }",
        );
        assert!(out.contains("add `#[orchestration_client]`"), "{out}");
    }

    #[test]
    fn parameter_roles() {
        let roles: Vec<_> = [
            "r: HttpRequest",
            "r: &durable::HttpRequest",
            "c: &mut DurableOrchestrationClient",
            "t: TimerInfo",
            "c: DurableOrchestrationContext",
            "id: u32",
        ]
        .into_iter()
        .map(|arg| {
            let arg: FnArg = syn::parse_str(arg).unwrap_or_else(|e| panic!("{arg}: {e}"));
            match ClientParam::new(&arg).role {
                ClientRole::Receiver => "self".to_owned(),
                ClientRole::Context(_) => "context".to_owned(),
                ClientRole::Known(known, taken) => format!("{known:?} {taken:?}"),
                ClientRole::Other { .. } => "other".to_owned(),
            }
        })
        .collect();
        assert_eq!(
            roles,
            ["Request Value", "Request Ref", "Client RefMut", "Timer Value", "context", "other"]
        );
    }

    #[test]
    fn not_a_fn() {
        let out = expand_str(HTTP, "", "struct Foo;");
        assert!(out.contains("`#[http_trigger]` applies to an `async fn`"), "{out}");
    }
}
