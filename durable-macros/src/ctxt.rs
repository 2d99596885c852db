//! The error collector every check writes to, so that all mistakes are reported at once.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Collects errors so that all of them are reported at once (serde's `Ctxt`).
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error spanning `tokens`.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records a parse error.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// The recorded errors, if any.
    pub(crate) fn check(self) -> Result<(), Vec<syn::Error>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }

    /// The recorded errors.
    pub(crate) fn into_errors(self) -> Vec<syn::Error> {
        self.errors
    }
}
