//! Turns a valid trigger into the unchanged fn, its typed handle and its registration; or, for
//! a struct-based entity, into the unchanged `impl` block, its typed proxy, the dispatch of
//! operations to methods and its registration.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Item, Pat, Type};

use crate::model::{Kind, Output, Trigger};
use crate::validate::{Checked, Input, Operation, Valid, ValidImpl, validate};

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
        Ok(Checked::Fn(valid)) => expand(kind, &valid),
        Ok(Checked::Impl(valid)) => expand_impl(&valid),
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
        (Kind::Activity, _) => {
            let max_concurrency = match valid.max_concurrency {
                Some(limit) => quote!(::core::option::Option::Some(#limit)),
                None => quote!(::core::option::Option::None),
            };
            (quote!(), quote!(max_concurrency: #max_concurrency,))
        }
        (Kind::Entity, _) => (quote!(), quote!()),
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

/// The emitted code for a valid struct-based entity: the `impl` block unchanged, the typed
/// proxy, and in a `const _` block the `EntityType` impl, the dispatch and the registration.
/// The per-operation code stays small: loading, saving and failing are `__private` fns.
fn expand_impl(valid: &ValidImpl<'_>) -> TokenStream {
    let private = quote!(::durable::__private);
    let item = &valid.entity.item;
    let self_ty = valid.self_ty;
    let name = &valid.name;
    let type_name = valid.ident.unraw().to_string();
    let rust_path = rust_path(&type_name);
    let proxy = format_ident!("{}Proxy", valid.ident.unraw(), span = valid.ident.span());

    let invoke = Ident::new("__durable_invoke", Span::call_site());
    let context = Ident::new("context", Span::mixed_site());
    let requested = Ident::new("requested", Span::mixed_site());
    let state = Ident::new("state", Span::mixed_site());
    let input = Ident::new("input", Span::mixed_site());
    let output = Ident::new("output", Span::mixed_site());
    let error = Ident::new("error", Span::mixed_site());

    let arms = valid.operations.iter().map(|operation| {
        let method = &operation.method.sig.ident;
        let op_name = &operation.name;
        let take_input = operation.input.map(|typed| {
            let ty = replace_self(&typed.ty, self_ty);
            quote_spanned! {typed.ty.span()=>
                let #input = #private::entity_input::<#ty>(&#context, #op_name)?;
            }
        });
        let arg = operation.input.map(|_| &input);
        let mutability = operation.mutates.then(|| quote!(mut));
        let call = match operation.method.sig.asyncness {
            Some(_) => quote!(#state.#method(#arg).await),
            None => quote!(#state.#method(#arg)),
        };
        let result = match &operation.method.output {
            Output::Unit | Output::Value(_) => quote!(::core::result::Result::Ok(#output)),
            Output::Result { ty, err, .. } => {
                let err_value = failure(ty, err.as_deref(), &error);
                quote! {
                    match #output {
                        ::core::result::Result::Ok(#output) => ::core::result::Result::Ok(#output),
                        ::core::result::Result::Err(#error) => ::core::result::Result::Err(#err_value),
                    }
                }
            }
        };
        // Spanned on the output type, so that one that is not `Serialize` is reported there.
        let finish = match operation.method.output.value() {
            None => quote!(#private::entity_finish(&#context, #op_name, #state, #result)),
            Some(ty) => {
                let replaced = replace_self(ty, self_ty);
                quote_spanned! {ty.span()=>
                    #private::entity_finish::<#self_ty, #replaced>(&#context, #op_name, #state, #result)
                }
            }
        };
        quote! {
            if #private::is_operation(&#requested, #op_name) {
                let #mutability #state = #private::entity_state::<#self_ty>(&#context)?;
                #take_input
                let #output = #call;
                return #finish;
            }
        }
    });
    let implicit_delete = valid.implicit_delete.then(|| {
        quote! {
            if #private::is_operation(&#requested, "delete") {
                return #private::entity_delete(&#context);
            }
        }
    });
    let known = valid
        .operations
        .iter()
        .map(|operation| operation.name.as_str())
        .chain(valid.implicit_delete.then_some("delete"));
    let dispatch = boxed(
        valid.ident,
        quote! {
            let #requested = #context.operation_name();
            #(#arms)*
            #implicit_delete
            #private::unknown_operation(&#context, &[#(#known),*])
        },
    );

    let proxy_methods = valid.operations.iter().map(|operation| proxy_method(operation, self_ty));
    let proxy_delete = valid.implicit_delete.then(|| {
        quote! {
            /// Deletes the entity's state (the implicit `delete` operation): it no longer
            /// exists until an operation runs on it again.
            pub fn delete(&self) -> C::Output<()> {
                self.0.operation::<()>("delete", ())
            }
        }
    });
    let proxy_doc = format!(
        " The typed proxy of the entity `{name}` (the `#[entity_trigger]` impl of `{type_name}`): one method per operation, with its input and output types. Get one with `context.entity::<{type_name}>(key)` in an orchestration, or `client.entity::<{type_name}>(key).signal()` in a client; the channel `C` decides whether an operation is called or signalled."
    );

    quote! {
        #item

        #[doc = #proxy_doc]
        #[derive(Clone, Debug)]
        pub struct #proxy<C>(C);

        impl<C: #private::EntityChannel> #proxy<C> {
            #(#proxy_methods)*
            #proxy_delete
        }

        const _: () = {
            // Spanned on the type, so that a state type that is not `Serialize`,
            // `Deserialize`, `Default` or `Send` is reported on the `impl` header.
            impl #private::EntityType for #self_ty {
                const NAME: &'static str = #name;
                type Proxy<C: #private::EntityChannel> = #proxy<C>;
                fn proxy<C: #private::EntityChannel>(channel: C) -> #proxy<C> {
                    #proxy(channel)
                }
            }

            fn #invoke(
                #context: #private::DurableEntityContext,
            ) -> #private::BoxFuture<'static, #private::FunctionResult> {
                #dispatch
            }

            #private::inventory::submit! {
                #private::Registration::Entity(#private::EntityRegistration {
                    name: #name,
                    rust_path: #rust_path,
                    invoke: #invoke,
                })
            }
        };
    }
}

/// The proxy's method for `operation`: same name, same input, the output a caller receives.
fn proxy_method(operation: &Operation<'_>, self_ty: &Type) -> TokenStream {
    let method = &operation.method.sig.ident;
    let op_name = &operation.name;
    let docs = &operation.method.docs;
    let doc = docs.is_empty().then(|| {
        let doc = format!(" The operation `{op_name}`.");
        quote!(#[doc = #doc])
    });
    let output = match operation.method.output.value() {
        Some(ty) => replace_self(ty, self_ty),
        None => quote!(()),
    };
    let (param, input) = match operation.input {
        Some(typed) => {
            // The user's name when it is a plain one, so that the proxy reads the same; spanned
            // on the type, where an input that is not `Serialize` is reported.
            let mut ident = match &*typed.pat {
                Pat::Ident(pat) => pat.ident.clone(),
                _ => Ident::new("input", Span::call_site()),
            };
            ident.set_span(typed.ty.span());
            let ty = replace_self(&typed.ty, self_ty);
            (quote!(#ident: #ty), quote!(#ident))
        }
        None => (quote!(), quote!(())),
    };
    quote! {
        #(#docs)*
        #doc
        pub fn #method(&self, #param) -> C::Output<#output> {
            self.0.operation::<#output>(#op_name, #input)
        }
    }
}

/// `ty` with each `Self` replaced by the entity's type: the dispatch and the proxy are outside
/// the `impl` block, where `Self` means something else or nothing.
fn replace_self(ty: &Type, self_ty: &Type) -> TokenStream {
    fn replace(tokens: TokenStream, self_ty: &Type) -> TokenStream {
        tokens
            .into_iter()
            .flat_map(|token| match token {
                TokenTree::Ident(ident) if ident == "Self" => self_ty.to_token_stream(),
                TokenTree::Group(group) => {
                    let mut replaced =
                        Group::new(group.delimiter(), replace(group.stream(), self_ty));
                    replaced.set_span(group.span());
                    TokenTree::Group(replaced).into()
                }
                other => other.into(),
            })
            .collect()
    }
    replace(ty.to_token_stream(), self_ty)
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
    fn an_entity_impl_gets_its_proxy_dispatch_and_registration() {
        let item = "impl Counter {
            pub fn add(&mut self, amount: i32) { self.value += amount; }
            pub async fn get(&self) -> Result<Self, String> { Ok(Counter { value: self.value }) }
            fn helper(&self) {}
        }";
        let out = expand_str(Kind::Entity, "", item);
        assert!(out.starts_with("impl Counter"), "{out}");
        assert!(out.contains("pub struct CounterProxy < C > (C) ;"), "{out}");
        assert!(out.contains("EntityType for Counter"), "{out}");
        assert!(out.contains(r#"const NAME : & 'static str = "Counter""#), "{out}");
        // `Self` means the entity's type outside the block too.
        assert!(out.contains("pub fn get (& self ,) -> C :: Output < Counter >"), "{out}");
        assert!(out.contains(r#"is_operation (& requested , "delete")"#), "{out}");
        assert!(!out.contains(r#""helper""#), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn every_entity_impl_error_is_reported_next_to_the_unchanged_impl() {
        let item = "impl<T> Bag<T> {
            pub fn put(&mut self, a: i32, b: i32) {}
            pub fn take(self) {}
            pub fn new() -> Self { todo!() }
            pub fn first<U>(&self) {}
        }";
        let out = expand_str(Kind::Entity, "", item);
        assert!(out.starts_with("impl < T > Bag < T >"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 6, "{out}");
        assert!(!out.contains("BagProxy"), "{out}");
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
