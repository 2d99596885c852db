//! HTTP functions (`#[http_trigger(…)]`, `[HttpTrigger]` in C#): their checks and their
//! expansion into the unchanged fn and an `HttpFunctionRegistration`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, GenericArgument, Ident, Lit, LitStr, Pat, PatIdent, PathArguments, Type};

use crate::args::{self, Key, NAME};
use crate::client::{ClientFunction, ClientRole, Known, Taken, common_param};
use crate::ctxt::Ctxt;
use crate::expand::{boxed, rust_path};
use crate::model::{Output, Subject, ungroup};
use crate::route::{ParamKind, Route, Segment};
use crate::validate::{check_signature, param_type};

const SUBJECT: Subject =
    Subject { attribute: "http_trigger", a_noun: "an HTTP function", plural: "HTTP functions" };

const ROUTE: Key = Key {
    name: "route",
    form: r#"route = "…""#,
    example: r#"route = "orchestrators/{function_name}""#,
};

const METHODS: Key =
    Key { name: "methods", form: r#"methods = ["…"]"#, example: r#"methods = ["GET", "POST"]"# };

const AUTH_LEVEL: Key =
    Key {
        name: "auth_level", form: r#"auth_level = "…""#, example: r#"auth_level = "anonymous""#
    };

/// The methods an HTTP function may answer.
const METHOD_NAMES: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// The auth levels, as `auth_level` spells them, and their `AuthLevel` variants.
const AUTH_LEVELS: [(&str, &str); 3] =
    [("anonymous", "Anonymous"), ("function", "Function"), ("admin", "Admin")];

/// An HTTP function that passed every check, with what the checks worked out.
pub(crate) struct ValidHttp<'a> {
    function: &'a ClientFunction,
    name: String,
    route: Route,
    /// Upper case; empty for every method.
    methods: Vec<String>,
    /// The `AuthLevel` variant.
    auth_level: &'static str,
    /// What to pass for each of the fn's parameters.
    args: Vec<HttpArg<'a>>,
}

/// What an HTTP function's parameter receives.
enum HttpArg<'a> {
    /// The request, by value.
    Request,
    /// The request, by reference.
    RequestRef,
    /// The client.
    Client,
    /// A route parameter, parsed as `ty` (inside the `Option` when it is optional).
    Route { name: String, ty: &'a Type, optional: bool },
}

/// Checks an HTTP function, adding to the errors already in `cx`.
pub(crate) fn validate(
    mut cx: Ctxt,
    function: &ClientFunction,
) -> Result<ValidHttp<'_>, Vec<syn::Error>> {
    let [route, methods, auth_level, name] =
        args::values(&mut cx, &function.args, &[ROUTE, METHODS, AUTH_LEVEL, NAME]);
    let sig = &function.item.sig;
    let name = match name.and_then(|value| args::function_name(&mut cx, value)) {
        Some(name) => name,
        None => args::default_name(&mut cx, SUBJECT.attribute, &sig.ident, "fn"),
    };
    let route = match route {
        Some(value) => {
            args::lit_str(&mut cx, &ROUTE, value).and_then(|lit| parse_route(&mut cx, lit))
        }
        // The default route is the function name, which is always a valid route.
        None => Route::parse(&name).ok(),
    };
    let methods = methods.map(|value| check_methods(&mut cx, value)).unwrap_or_default();
    let auth_level = match auth_level {
        Some(value) => check_auth_level(&mut cx, value),
        None => Some("Function"),
    };
    check_signature(&mut cx, SUBJECT, sig, true);
    let args = params(&mut cx, function, route.as_ref());
    check_output(&mut cx, function);
    cx.check()?;
    // What is missing was reported.
    let (Some(route), Some(auth_level)) = (route, auth_level) else {
        return Err(Vec::new());
    };
    Ok(ValidHttp { function, name, route, methods, auth_level, args })
}

fn parse_route(cx: &mut Ctxt, lit: &LitStr) -> Option<Route> {
    Route::parse(&lit.value()).map_err(|problem| cx.error_at(lit.span(), problem)).ok()
}

/// `methods = ["GET", "POST"]`: known methods, each once, in upper case.
fn check_methods(cx: &mut Ctxt, value: &Expr) -> Vec<String> {
    let Expr::Array(array) = value else {
        cx.error_spanned_by(
            value,
            format_args!("expected an array of methods: `{}`", METHODS.example),
        );
        return Vec::new();
    };
    let mut methods: Vec<String> = Vec::new();
    for element in &array.elems {
        let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = element else {
            cx.error_spanned_by(element, "expected a method as a string literal, e.g. `\"POST\"`");
            continue;
        };
        let method = lit.value().to_ascii_uppercase();
        if !METHOD_NAMES.contains(&method.as_str()) {
            cx.error_at(
                lit.span(),
                format_args!(
                    "unknown method `{}`; expected one of {}",
                    lit.value(),
                    METHOD_NAMES.join(", ")
                ),
            );
        } else if methods.contains(&method) {
            cx.error_at(lit.span(), format_args!("duplicate method `{method}`; give it once"));
        } else {
            methods.push(method);
        }
    }
    methods
}

/// `auth_level = "anonymous"`: the `AuthLevel` variant.
fn check_auth_level(cx: &mut Ctxt, value: &Expr) -> Option<&'static str> {
    let lit = args::lit_str(cx, &AUTH_LEVEL, value)?;
    let level = lit.value();
    let variant = AUTH_LEVELS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&level))
        .map(|(_, variant)| *variant);
    if variant.is_none() {
        cx.error_at(
            lit.span(),
            format_args!(
                "unknown auth level `{level}`; expected \"anonymous\", \"function\" or \"admin\""
            ),
        );
    }
    variant
}

/// The request, the client and the route parameters, by name.
fn params<'a>(
    cx: &mut Ctxt,
    function: &'a ClientFunction,
    route: Option<&Route>,
) -> Vec<HttpArg<'a>> {
    let mut args = Vec::new();
    let mut client = false;
    let mut request = false;
    for param in &function.params {
        if common_param(cx, SUBJECT, function, param, &mut client) {
            if let ClientRole::Known(Known::Client, _) = param.role {
                args.push(HttpArg::Client);
            }
            continue;
        }
        match &param.role {
            ClientRole::Known(Known::Request, taken) => {
                if request {
                    cx.error_spanned_by(&param.arg, "an HTTP function takes the request once");
                }
                request = true;
                match taken {
                    Taken::Value => args.push(HttpArg::Request),
                    Taken::Ref => args.push(HttpArg::RequestRef),
                    Taken::RefMut => cx.error_spanned_by(
                        param_type(&param.arg),
                        "take the request by value or by shared reference: `req: HttpRequest` or `req: &HttpRequest`",
                    ),
                }
            }
            ClientRole::Known(Known::Timer, _) => cx.error_spanned_by(
                param_type(&param.arg),
                "an HTTP function takes no `TimerInfo`; that is for `#[timer_trigger]` functions",
            ),
            ClientRole::Other { pat, ty } => {
                if let Some(arg) = route_param(cx, route, &param.arg, pat, ty) {
                    args.push(arg);
                }
            }
            ClientRole::Known(Known::Client, _) | ClientRole::Receiver | ClientRole::Context(_) => {
            }
        }
    }
    args
}

/// A route parameter, bound by name to a `{parameter}` of the route. Without a valid route,
/// there is nothing to check it against.
fn route_param<'a>(
    cx: &mut Ctxt,
    route: Option<&Route>,
    arg: &syn::FnArg,
    pat: &Pat,
    ty: &'a Type,
) -> Option<HttpArg<'a>> {
    let Pat::Ident(PatIdent { ident, by_ref: None, subpat: None, .. }) = pat else {
        cx.error_spanned_by(
            pat,
            "a route parameter is bound by name: write `name: Type` for a `{name}` of the route",
        );
        return None;
    };
    let route = route?;
    let name = ident.unraw().to_string();
    let Some(param) = route.param(&name) else {
        let params: Vec<String> =
            route.params.iter().map(|param| format!("`{}`", param.name)).collect();
        let has = if params.is_empty() {
            "it has none".to_owned()
        } else {
            format!("its parameters are {}", params.join(", "))
        };
        cx.error_spanned_by(
            arg,
            format_args!(
                "the route `{route}` has no parameter `{name}`; {has}\nan HTTP function takes `req: HttpRequest`, `starter: DurableOrchestrationClient` (with `#[orchestration_client]`) and the route's parameters, by name",
                route = route.template
            ),
        );
        return None;
    };
    let option = option_arg(ty);
    match (param.kind, option) {
        (ParamKind::Optional, Some(inner)) => {
            Some(HttpArg::Route { name, ty: inner, optional: true })
        }
        (ParamKind::Optional, None) => {
            cx.error_spanned_by(
                ty,
                format_args!(
                    "`{{{name}?}}` is optional, so take it as an `Option`: `{ident}: Option<{}>`",
                    quote::ToTokens::to_token_stream(ty)
                ),
            );
            None
        }
        (ParamKind::Required | ParamKind::CatchAll, Some(inner)) => {
            cx.error_spanned_by(
                ty,
                format_args!(
                    "the route parameter `{name}` is always there: take `{ident}: {}`, or make it optional in the route: `{{{name}?}}`",
                    quote::ToTokens::to_token_stream(inner)
                ),
            );
            None
        }
        (ParamKind::Required | ParamKind::CatchAll, None) => {
            Some(HttpArg::Route { name, ty, optional: false })
        }
    }
}

/// `T` when `ty` is `Option<T>` (by the last segment of its path).
fn option_arg(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// An HTTP function returns a response; which types are responses the compiler checks.
fn check_output(cx: &mut Ctxt, function: &ClientFunction) {
    if let Output::Unit = function.output {
        cx.error_spanned_by(
            &function.item.sig.ident,
            "an HTTP function returns `HttpResponse` or `Result<HttpResponse, E>`",
        );
    }
}

/// The unchanged fn and its registration.
pub(crate) fn expand(valid: &ValidHttp<'_>) -> TokenStream {
    let private = quote!(::durable::__private);
    let function = valid.function;
    let item = &function.item;
    let ident = &item.sig.ident;

    let invoke = Ident::new("__durable_invoke", Span::call_site());
    // Locals of the generated code are hygienic, so they never shadow the user's fn.
    let request = Ident::new("request", Span::mixed_site());
    let client = Ident::new("client", Span::mixed_site());
    let output = Ident::new("output", Span::mixed_site());
    let error = Ident::new("error", Span::mixed_site());
    let value = Ident::new("value", Span::mixed_site());
    let response = Ident::new("response", Span::mixed_site());

    // Read the route parameters (a bad one answers 400 before the fn runs), then call the fn.
    let mut bind = TokenStream::new();
    let mut call_args = Vec::new();
    let (mut uses_request, mut uses_client) = (false, false);
    for (index, arg) in valid.args.iter().enumerate() {
        call_args.push(match arg {
            HttpArg::Request => {
                uses_request = true;
                quote!(#request)
            }
            HttpArg::RequestRef => {
                uses_request = true;
                quote!(&#request)
            }
            HttpArg::Client => {
                uses_client = true;
                quote!(#client)
            }
            HttpArg::Route { name, ty, optional } => {
                uses_request = true;
                let local = format_ident!("route_{}", index, span = Span::mixed_site());
                let read =
                    if *optional { quote!(optional_route_param) } else { quote!(route_param) };
                // Spanned on the type, path included, so that a type that is not `FromStr` is
                // reported there.
                bind.extend(quote_spanned! {ty.span()=>
                    let #local = match ::durable::__private::#read::<#ty>(&#request, #name) {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#response) => return #response,
                    };
                });
                quote!(#local)
            }
        });
    }
    let unused = match (uses_request, uses_client) {
        (true, true) => quote!(),
        (true, false) => quote!(let _ = #client;),
        (false, true) => quote!(let _ = #request;),
        (false, false) => quote!(let _ = (#request, #client);),
    };

    // The response: the value, or the error's response.
    let finish = match &function.output {
        // Reported by `validate`.
        Output::Unit => quote!(#output),
        Output::Value(ty) => quote_spanned! {ty.span()=>
            <#ty as #private::IntoHttpResponse>::into_http_response(#output)
        },
        Output::Result { ty, ok, err } => {
            let ok_value = quote_spanned! {ok.span()=>
                <#ok as #private::IntoHttpResponse>::into_http_response(#output)
            };
            let err_span = err.as_ref().map_or_else(|| ty.span(), |err| err.span());
            let err_value = quote_spanned! {err_span=> {
                #[allow(unused_imports)]
                use #private::{DurableErrorResponse as _, DisplayErrorResponse as _};
                (&#private::ErrorResponse(&#error)).error_response()
            }};
            quote! {
                match #output {
                    ::core::result::Result::Ok(#output) => #ok_value,
                    ::core::result::Result::Err(#error) => #err_value,
                }
            }
        }
    };

    let boxed = boxed(
        ident,
        quote! {
            #unused
            #bind
            let #output = #ident(#(#call_args),*).await;
            #finish
        },
    );
    let name = &valid.name;
    let route = &valid.route.template;
    let segments = valid.route.segments.iter().map(|segment| match segment {
        Segment::Literal(text) => quote!(#private::RouteSegment::Literal(#text)),
        Segment::Param(param) => {
            let name = &param.name;
            match param.kind {
                ParamKind::Required => quote!(#private::RouteSegment::Param(#name)),
                ParamKind::Optional => quote!(#private::RouteSegment::OptionalParam(#name)),
                ParamKind::CatchAll => quote!(#private::RouteSegment::CatchAll(#name)),
            }
        }
    });
    let methods = &valid.methods;
    let auth_level = Ident::new(valid.auth_level, Span::call_site());
    let rust_path = rust_path(&ident.unraw().to_string());
    quote! {
        #item

        const _: () = {
            fn #invoke(
                #request: #private::HttpRequest,
                #client: #private::DurableOrchestrationClient,
            ) -> #private::BoxFuture<'static, #private::HttpResponse> {
                #boxed
            }

            #private::inventory::submit! {
                #private::HttpFunctionRegistration {
                    name: #name,
                    rust_path: #rust_path,
                    route: #route,
                    segments: &[#(#segments),*],
                    methods: &[#(#methods),*],
                    auth_level: #private::AuthLevel::#auth_level,
                    invoke: #invoke,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::client::{Attribute, TriggerKind};

    fn expand_str(args: &str, item: &str) -> String {
        crate::client::expand_str(Attribute::Trigger(TriggerKind::Http), args, item)
    }

    #[test]
    fn the_registration_has_the_route_methods_and_auth_level() {
        let out = expand_str(
            r#"route = "/orchestrators/{function_name}/", methods = ["post", "Get"], auth_level = "ANONYMOUS", name = "HttpStart""#,
            "#[orchestration_client] async fn http_start(req: HttpRequest, starter: DurableOrchestrationClient, function_name: String) -> Result<HttpResponse, DurableError> { todo!() }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.starts_with("async fn http_start"), "{out}");
        assert!(out.contains(r#"name : "HttpStart""#), "{out}");
        assert!(out.contains(r#"route : "orchestrators/{function_name}""#), "{out}");
        assert!(out.contains(r#"methods : & ["POST" , "GET"]"#), "{out}");
        assert!(out.contains("AuthLevel :: Anonymous"), "{out}");
        assert!(
            out.contains(r#"route_param :: < String > (& request , "function_name")"#),
            "{out}"
        );
        assert!(out.contains("http_start (request , client , route_2) . await"), "{out}");
        assert!(out.contains("DurableErrorResponse as _"), "{out}");
    }

    #[test]
    fn defaults() {
        let out = expand_str("", "async fn hello(req: &HttpRequest) -> HttpResponse { todo!() }");
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains(r#"route : "hello""#), "{out}");
        assert!(out.contains("methods : & []"), "{out}");
        assert!(out.contains("AuthLevel :: Function"), "{out}");
        assert!(out.contains("let _ = client ;"), "{out}");
        assert!(out.contains("hello (& request) . await"), "{out}");
        assert!(out.contains("IntoHttpResponse > :: into_http_response"), "{out}");
    }

    #[test]
    fn optional_route_parameters_are_options() {
        let out = expand_str(
            r#"route = "items/{id?}""#,
            "async fn item(id: Option<u32>) -> HttpResponse { todo!() }",
        );
        assert!(out.contains(r#"optional_route_param :: < u32 > (& request , "id")"#), "{out}");
        let out = expand_str(
            r#"route = "items/{id?}""#,
            "async fn item(id: u32) -> HttpResponse { todo!() }",
        );
        assert!(out.contains("is optional, so take it as an `Option`"), "{out}");
        let out = expand_str(
            r#"route = "items/{id}""#,
            "async fn item(id: Option<u32>) -> HttpResponse { todo!() }",
        );
        assert!(out.contains("is always there"), "{out}");
    }

    #[test]
    fn every_error_is_reported() {
        let out = expand_str(
            r#"route = "a/{id:int}", methods = ["FETCH", "GET", "get"], auth_level = "public", rout = "x""#,
            "fn f(other: u32) {}",
        );
        for message in [
            "unknown key `rout`",
            "route constraints are not supported",
            "unknown method `FETCH`",
            "duplicate method `GET`",
            "unknown auth level `public`",
            "HTTP functions must be `async fn`",
            "an HTTP function returns `HttpResponse`",
        ] {
            assert!(out.contains(message), "{message}: {out}");
        }
        assert_eq!(out.matches("compile_error").count(), 7, "{out}");
    }

    #[test]
    fn a_parameter_must_be_in_the_route() {
        let out =
            expand_str(r#"route = "a/{x}/{y}""#, "async fn f(z: u32) -> HttpResponse { todo!() }");
        assert!(
            out.contains("the route `a/{x}/{y}` has no parameter `z`; its parameters are `x`, `y`"),
            "{out}"
        );
    }
}
