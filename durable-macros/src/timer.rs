//! Timer functions (`#[timer_trigger(schedule = "…")]`, `[TimerTrigger]` in C#): their checks,
//! including the NCRONTAB schedule's, and their expansion into the unchanged fn and a
//! `TimerFunctionRegistration`.

use croner::parser::{CronParser, Seconds};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::{Ident, Type};

use crate::args::{self, Key, NAME};
use crate::client::{ClientFunction, ClientRole, Known, Taken, common_param};
use crate::ctxt::Ctxt;
use crate::expand::{boxed, failure, rust_path};
use crate::model::{Output, Subject, ungroup};
use crate::validate::{check_signature, param_type};

const SUBJECT: Subject =
    Subject { attribute: "timer_trigger", a_noun: "a timer function", plural: "timer functions" };

const SCHEDULE: Key =
    Key { name: "schedule", form: r#"schedule = "…""#, example: r#"schedule = "0 */5 * * * *""# };

const RUN_ON_STARTUP: Key =
    Key { name: "run_on_startup", form: "run_on_startup = …", example: "run_on_startup = true" };

/// The fields of a schedule, in order.
const FIELDS: &str = "`{second} {minute} {hour} {day} {month} {day-of-week}`";

/// A timer function that passed every check, with what the checks worked out.
pub(crate) struct ValidTimer<'a> {
    function: &'a ClientFunction,
    name: String,
    schedule: String,
    run_on_startup: bool,
    /// What to pass for each of the fn's parameters.
    args: Vec<TimerArg>,
}

/// What a timer function's parameter receives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TimerArg {
    /// The timer info.
    Timer,
    /// The client.
    Client,
}

/// Checks a timer function, adding to the errors already in `cx`.
pub(crate) fn validate(
    mut cx: Ctxt,
    function: &ClientFunction,
) -> Result<ValidTimer<'_>, Vec<syn::Error>> {
    let [schedule, run_on_startup, name] =
        args::values(&mut cx, &function.args, &[SCHEDULE, RUN_ON_STARTUP, NAME]);
    let sig = &function.item.sig;
    let name = match name.and_then(|value| args::function_name(&mut cx, value)) {
        Some(name) => name,
        None => args::default_name(&mut cx, SUBJECT.attribute, &sig.ident, "fn"),
    };
    let schedule = match schedule {
        Some(value) => args::lit_str(&mut cx, &SCHEDULE, value).and_then(|lit| {
            let schedule = lit.value();
            match check_schedule(&schedule) {
                Ok(()) => Some(schedule),
                Err(problem) => {
                    cx.error_at(lit.span(), problem);
                    None
                }
            }
        }),
        None => {
            cx.syn_error(function.site.error(format_args!(
                "`#[timer_trigger]` needs a schedule: `#[timer_trigger({})]`, with six fields {FIELDS}",
                SCHEDULE.example
            )));
            None
        }
    };
    let run_on_startup = run_on_startup
        .and_then(|value| args::lit_bool(&mut cx, &RUN_ON_STARTUP, value))
        .is_some_and(|lit| lit.value);
    check_signature(&mut cx, SUBJECT, sig, true);
    let args = params(&mut cx, function);
    check_output(&mut cx, &function.output);
    cx.check()?;
    // What is missing was reported.
    let schedule = schedule.ok_or_else(Vec::new)?;
    Ok(ValidTimer { function, name, schedule, run_on_startup, args })
}

/// Why `schedule` is not a six-field NCRONTAB expression, if it is not.
fn check_schedule(schedule: &str) -> Result<(), String> {
    let fields = schedule.split_whitespace().count();
    if fields != 6 {
        let hint = if fields == 5 {
            format!("; the first field is the second, e.g. `0 {}`", schedule.trim())
        } else {
            String::new()
        };
        return Err(format!(
            "a schedule has six fields, {FIELDS}, but `{schedule}` has {fields}{hint}"
        ));
    }
    let Err(error) = parse(schedule) else {
        return Ok(());
    };
    // Name the field at fault: the first that does not parse among wildcards.
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let culprit = (0..fields.len()).find(|&index| {
        let probe: Vec<&str> =
            (0..fields.len()).map(|i| if i == index { fields[i] } else { "*" }).collect();
        parse(&probe.join(" ")).is_err()
    });
    Err(match culprit {
        Some(index) => {
            let (field, range) = FIELD_RANGES[index];
            format!(
                "invalid schedule `{schedule}`: the {field} field, `{}`, is invalid ({range}): {error}",
                fields[index]
            )
        }
        None => format!("invalid schedule `{schedule}`: {error}"),
    })
}

/// The fields of a schedule and their values.
const FIELD_RANGES: [(&str, &str); 6] = [
    ("second", "0-59"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-6 or SUN-SAT"),
];

/// Parses a six-field schedule as the runtime does.
fn parse(schedule: &str) -> Result<croner::Cron, croner::errors::CronError> {
    CronParser::builder().seconds(Seconds::Required).build().parse(schedule)
}

/// The timer info and the client.
fn params(cx: &mut Ctxt, function: &ClientFunction) -> Vec<TimerArg> {
    let mut args = Vec::new();
    let mut client = false;
    let mut timer = false;
    for param in &function.params {
        if common_param(cx, SUBJECT, function, param, &mut client) {
            if let ClientRole::Known(Known::Client, _) = param.role {
                args.push(TimerArg::Client);
            }
            continue;
        }
        match &param.role {
            ClientRole::Known(Known::Timer, Taken::Value) => {
                if timer {
                    cx.error_spanned_by(&param.arg, "a timer function takes `TimerInfo` once");
                }
                timer = true;
                args.push(TimerArg::Timer);
            }
            ClientRole::Known(Known::Timer, Taken::Ref | Taken::RefMut) => cx.error_spanned_by(
                param_type(&param.arg),
                "take the timer info by value: `timer: TimerInfo`",
            ),
            _ => cx.error_spanned_by(
                &param.arg,
                "a timer function takes `timer: TimerInfo` and, with `#[orchestration_client]`, `starter: DurableOrchestrationClient`; nothing else",
            ),
        }
    }
    args
}

/// A timer function returns nothing, or `Result<(), E>`.
fn check_output(cx: &mut Ctxt, output: &Output) {
    const RETURNS: &str = "a timer function returns nothing or `Result<(), E>`";
    match output {
        Output::Unit => {}
        Output::Value(ty) if is_unit(ty) => {}
        Output::Value(ty) => cx.error_spanned_by(ty, RETURNS),
        Output::Result { ok, .. } if is_unit(ok) => {}
        Output::Result { ok, .. } => cx.error_spanned_by(ok, RETURNS),
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ungroup(ty), Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// The unchanged fn and its registration.
pub(crate) fn expand(valid: &ValidTimer<'_>) -> TokenStream {
    let private = quote!(::durable::__private);
    let function = valid.function;
    let item = &function.item;
    let ident = &item.sig.ident;

    let invoke = Ident::new("__durable_invoke", Span::call_site());
    // Locals of the generated code are hygienic, so they never shadow the user's fn.
    let timer = Ident::new("timer", Span::mixed_site());
    let client = Ident::new("client", Span::mixed_site());
    let output = Ident::new("output", Span::mixed_site());
    let error = Ident::new("error", Span::mixed_site());

    let call_args: Vec<&Ident> = valid
        .args
        .iter()
        .map(|arg| match arg {
            TimerArg::Timer => &timer,
            TimerArg::Client => &client,
        })
        .collect();
    let mut unused = TokenStream::new();
    if !valid.args.contains(&TimerArg::Timer) {
        unused.extend(quote!(let _ = #timer;));
    }
    if !valid.args.contains(&TimerArg::Client) {
        unused.extend(quote!(let _ = #client;));
    }
    let finish = match &function.output {
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
    let boxed = boxed(
        ident,
        quote! {
            #unused
            let #output = #ident(#(#call_args),*).await;
            #finish
        },
    );

    let name = &valid.name;
    let schedule = &valid.schedule;
    let run_on_startup = valid.run_on_startup;
    let rust_path = rust_path(&ident.unraw().to_string());
    quote! {
        #item

        const _: () = {
            fn #invoke(
                #timer: #private::TimerInfo,
                #client: #private::DurableOrchestrationClient,
            ) -> #private::BoxFuture<'static, ::core::result::Result<(), #private::FailureDetails>> {
                #boxed
            }

            #private::inventory::submit! {
                #private::TimerFunctionRegistration {
                    name: #name,
                    rust_path: #rust_path,
                    schedule: #schedule,
                    run_on_startup: #run_on_startup,
                    invoke: #invoke,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Attribute, TriggerKind};

    fn expand_str(args: &str, item: &str) -> String {
        crate::client::expand_str(Attribute::Trigger(TriggerKind::Timer), args, item)
    }

    #[test]
    fn schedules() {
        assert!(check_schedule("0 */5 * * * *").is_ok());
        assert!(check_schedule("0 30 9 * * MON-FRI").is_ok());
        let five = check_schedule("*/5 * * * *").unwrap_err();
        assert!(
            five.contains("has 5; the first field is the second, e.g. `0 */5 * * * *`"),
            "{five}"
        );
        let bad = check_schedule("0 61 * * * *").unwrap_err();
        assert!(bad.starts_with("invalid schedule `0 61 * * * *`: "), "{bad}");
    }

    #[test]
    fn the_registration_has_the_schedule() {
        let out = expand_str(
            r#"schedule = "0 */5 * * * *", run_on_startup = true, name = "Cleanup""#,
            "#[orchestration_client] async fn cleanup(timer: TimerInfo, starter: DurableOrchestrationClient) -> Result<(), DurableError> { Ok(()) }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains(r#"schedule : "0 */5 * * * *""#), "{out}");
        assert!(out.contains("run_on_startup : true"), "{out}");
        assert!(out.contains(r#"name : "Cleanup""#), "{out}");
        assert!(out.contains("cleanup (timer , client) . await"), "{out}");
        assert!(out.contains("error :: < DurableError >"), "{out}");
    }

    #[test]
    fn defaults_and_unused_arguments() {
        let out = expand_str(r#"schedule = "0 0 * * * *""#, "async fn hourly() {}");
        assert!(out.contains("run_on_startup : false"), "{out}");
        assert!(out.contains(r#"name : "hourly""#), "{out}");
        assert!(out.contains("let _ = timer ; let _ = client ;"), "{out}");
    }

    #[test]
    fn every_error_is_reported() {
        let out = expand_str(
            "run_on_startup = 1",
            "fn f(req: HttpRequest, timer: &TimerInfo) -> u32 { 0 }",
        );
        for message in [
            "expected `true` or `false`",
            "needs a schedule",
            "timer functions must be `async fn`",
            "a timer function takes `timer: TimerInfo`",
            "take the timer info by value",
            "a timer function returns nothing or `Result<(), E>`",
        ] {
            assert!(out.contains(message), "{message}: {out}");
        }
    }
}
