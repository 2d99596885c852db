//! Turns a valid trigger into the unchanged fn, its typed handle and its registration.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Item, Type};

use crate::model::{Kind, Output, Trigger};
use crate::validate::{Input, Valid, validate};

/// Expands `#[activity_trigger]` or `#[orchestration_trigger]` with these arguments on this
/// item. On error, the item is emitted unchanged next to the errors.
pub(crate) fn trigger(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(parsed) => parsed,
        // Not an item at all: rustc reports the syntax error itself.
        Err(_) => return item,
    };
    let trigger = Trigger::new(kind, args, parsed);
    match validate(&trigger) {
        Ok(valid) => expand(kind, &valid),
        Err(errors) => with_errors(item, &errors),
    }
}

/// The item, unchanged, followed by the errors.
pub(crate) fn with_errors(item: impl ToTokens, errors: &[syn::Error]) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote! {
        #item
        #(#errors)*
    }
}

/// The failure details of `error`, the `Err` of a fn whose return type is `ty` (`Result<T, E>`
/// with `err` = `E`, or an alias such as `io::Result<T>` without it), with its causes. A type
/// that is not `Display` is reported on `E`.
pub(crate) fn failure(ty: &Type, err: Option<&Type>, error: &Ident) -> TokenStream {
    let private = quote!(::durable::__private);
    let causes = quote! {{
        #[allow(unused_imports)]
        use #private::{NoCauses as _, StdErrorCauses as _};
        (&#private::Causes(&#error)).causes()
    }};
    // The causes are read before the error moves into `error`.
    match err {
        Some(err) => quote_spanned! {err.span()=> {
            let causes = #causes;
            #private::error::<#err>(#error, causes)
        }},
        None => quote_spanned! {ty.span()=> {
            let causes = #causes;
            #private::error(#error, causes)
        }},
    }
}

/// The Rust path of the fn named `fn_name`, for diagnostics.
pub(crate) fn rust_path(fn_name: &str) -> TokenStream {
    quote!(::core::concat!(::core::module_path!(), "::", #fn_name))
}

/// `body` in a boxed future. Boxing checks that the future is `Send`; a failure points at the
/// fn's name, `ident`.
pub(crate) fn boxed(ident: &Ident, body: TokenStream) -> TokenStream {
    quote_spanned! {ident.span()=>
        ::std::boxed::Box::pin(async move { #body })
    }
}

/// The emitted code for a valid trigger.
fn expand(kind: Kind, valid: &Valid<'_>) -> TokenStream {
    let private = quote!(::durable::__private);
    let function = valid.function;
    let item = &function.item;
    let sig = &item.sig;
    let vis = &item.vis;
    let ident = &sig.ident;
    let fn_name = ident.unraw().to_string();
    let handle = &valid.handle;
    let name = &valid.name;
    let rust_path = rust_path(&fn_name);

    // Items of the generated code; they live in their own `const _` block.
    let invoke = Ident::new("__durable_invoke", Span::call_site());
    let parse = Ident::new("__durable_parse_input", Span::call_site());
    let validate = Ident::new("__durable_validate_input", Span::call_site());

    // Locals of the generated code are hygienic, so they never shadow the user's fn.
    let context = Ident::new("context", Span::mixed_site());
    let input = Ident::new("input", Span::mixed_site());
    let output = Ident::new("output", Span::mixed_site());
    let error = Ident::new("error", Span::mixed_site());

    let (handle_trait, context_type, registration, variant) = match kind {
        Kind::Activity => (
            quote!(ActivityHandle),
            quote!(DurableActivityContext),
            quote!(ActivityRegistration),
            quote!(Activity),
        ),
        Kind::Orchestrator => (
            quote!(OrchestratorHandle),
            quote!(DurableOrchestrationContext),
            quote!(OrchestratorRegistration),
            quote!(Orchestrator),
        ),
        Kind::Entity => {
            (quote!(), quote!(DurableEntityContext), quote!(EntityRegistration), quote!(Entity))
        }
    };

    // Spanned on the user's types, so that a missing trait or a private type is reported there.
    let input_type = match valid.input {
        Input::Nothing => quote! { type Input = (); },
        Input::Context => quote! { type Input = #private::Value; },
        Input::Value(ty) => quote_spanned!(ty.span()=> type Input = #ty;),
    };
    let output_type = match function.output.value() {
        None => quote! { type Output = (); },
        Some(ty) => quote_spanned!(ty.span()=> type Output = #ty;),
    };

    // Deserialize the input, then call the fn.
    let (take_input, args) = match (kind, valid.input) {
        (Kind::Activity, Input::Nothing) => (quote!(let _ = #context;), quote!()),
        (Kind::Activity, Input::Context)
        | (Kind::Orchestrator, Input::Context | Input::Nothing)
        | (Kind::Entity, _) => (quote!(), quote!(#context)),
        (Kind::Activity, Input::Value(ty)) => (
            quote_spanned! {ty.span()=>
                let #input = #private::activity_input::<#ty>(&#context)?;
            },
            quote!(#input),
        ),
        (Kind::Orchestrator, Input::Value(_)) => (
            quote!(let #input = #private::orchestrator_input_with(&#context, #parse)?;),
            quote!(#context, #input),
        ),
    };
    let call = if function.is_async() {
        quote!(#ident(#args).await)
    } else {
        quote!(#private::run_blocking(move || #ident(#args)).await)
    };

    // Serialize the output, or turn the error into failure details.
    let finish = match &function.output {
        Output::Unit => quote!(#private::output(#name, #output)),
        Output::Value(ty) => quote_spanned! {ty.span()=>
            #private::output::<#ty>(#name, #output)
        },
        Output::Result { ty, ok, err } => {
            let ok_value = quote_spanned! {ok.span()=>
                #private::output::<#ok>(#name, #output)
            };
            let err_value = failure(ty, err.as_deref(), &error);
            quote! {
                match #output {
                    ::core::result::Result::Ok(#output) => #ok_value,
                    ::core::result::Result::Err(#error) => ::core::result::Result::Err(#err_value),
                }
            }
        }
    };

    let boxed = boxed(
        ident,
        quote! {
            #take_input
            let #output = #call;
            #finish
        },
    );

    // An orchestrator's input is parsed by one fn, used both to validate a new instance's input
    // and to deserialize it, so that a type that is not `DeserializeOwned` is reported once.
    let (parse_fns, validate_input) = match (kind, valid.input) {
        (Kind::Activity | Kind::Entity, _) => (quote!(), quote!()),
        (Kind::Orchestrator, Input::Value(ty)) => (
            quote! {
                fn #parse(
                    input: &#private::Value,
                ) -> ::core::result::Result<#ty, #private::serde_json::Error> {
                    #private::deserialize::<#ty>(input)
                }

                fn #validate(input: &#private::Value) -> ::core::result::Result<(), ::std::string::String> {
                    #private::validate_with(input, #parse)
                }
            },
            quote!(validate_input: ::core::option::Option::Some(#validate),),
        ),
        (Kind::Orchestrator, _) => {
            (quote!(), quote!(validate_input: ::core::option::Option::None,))
        }
    };

    let (handle_struct, handle_impl) = match handle {
        Some(handle) => {
            let doc = format!(
                " Typed handle of the {noun} `{name}`, registered by the `#[{attribute}]` fn `{fn_name}`.",
                noun = kind.noun(),
                attribute = kind.attribute(),
            );
            (
                quote! {
                    #[doc = #doc]
                    #[derive(Clone, Copy, Debug, Default)]
                    #vis struct #handle;
                },
                quote! {
                    impl #private::#handle_trait for #handle {
                        #input_type
                        #output_type
                        const NAME: &'static str = #name;
                    }
                },
            )
        }
        None => (quote!(), quote!()),
    };
    quote! {
        #item

        #handle_struct

        const _: () = {
            #handle_impl

            #parse_fns

            fn #invoke(
                #context: #private::#context_type,
            ) -> #private::BoxFuture<'static, #private::FunctionResult> {
                #boxed
            }

            #private::inventory::submit! {
                #private::Registration::#variant(#private::#registration {
                    name: #name,
                    rust_path: #rust_path,
                    invoke: #invoke,
                    #validate_input
                })
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, args: &str, item: &str) -> String {
        let args: TokenStream = args.parse().unwrap_or_default();
        let item: TokenStream = item.parse().unwrap_or_default();
        trigger(kind, args, item).to_string()
    }

    #[test]
    fn a_valid_activity_gets_its_handle_and_registration() {
        let out = expand_str(
            Kind::Activity,
            r#"name = "E1_SayHello""#,
            "pub async fn say_hello(name: String) -> String { name }",
        );
        assert!(out.starts_with("pub async fn say_hello"), "{out}");
        assert!(out.contains("pub struct SayHello ;"), "{out}");
        assert!(out.contains("ActivityHandle for SayHello"), "{out}");
        assert!(out.contains(r#"const NAME : & 'static str = "E1_SayHello""#), "{out}");
        assert!(out.contains("inventory :: submit !"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn an_orchestrator_with_input_validates_it() {
        let out = expand_str(
            Kind::Orchestrator,
            "",
            "async fn greet(context: DurableOrchestrationContext, city: String) {}",
        );
        assert!(out.contains("OrchestratorHandle for Greet"), "{out}");
        assert!(out.contains("validate_input : :: core :: option :: Option :: Some"), "{out}");
    }

    #[test]
    fn every_error_is_reported_next_to_the_unchanged_item() {
        let item = "async fn say_hello<T>(name: &str, other: u32) -> String { String::new() }";
        let out = expand_str(Kind::Activity, r#"nmae = "x""#, item);
        let unchanged = item.parse::<TokenStream>().map(|t| t.to_string()).unwrap_or_default();
        assert!(out.starts_with(&unchanged), "{out}");
        assert_eq!(out.matches("compile_error").count(), 4, "{out}");
        assert!(!out.contains("struct"), "{out}");
    }

    #[test]
    fn a_non_fn_item_is_an_error() {
        let out = expand_str(Kind::Orchestrator, "", "struct Foo;");
        assert!(
            out.contains("`#[orchestration_trigger]` applies to an `async fn` or `fn`"),
            "{out}"
        );
    }
}
