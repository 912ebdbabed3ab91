//! `#[command]`, the attribute that declares one of the desktop app's commands. It is used in
//! the app's `commands` modules only, and expects the app's `bindings`, `commands::Returns` and
//! `is_registered` at those paths of the crate it is used in.
//!
//! ```ignore
//! /// One saved profile.
//! #[command]
//! #[tracing::instrument(skip(state))]
//! pub async fn get_profile(state: State<'_, AppState>, name: String) -> CmdResult<ProfileView> {
//!     ...
//! }
//! ```
//!
//! expands to the function as a `#[tauri::command]`, and beside it a hidden constant that
//! describes the command for the TypeScript bindings: its name, its doc comment, each argument
//! (the name the UI sends, in camelCase, and its type) and the type of its result. `State`
//! parameters are not arguments. A command without a doc comment does not compile, nor one
//! missing from the app's registry. [`spec!`]`(path::to::get_profile)` names that constant, as
//! `tauri::generate_handler!` names the command's handler from the same path.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, FnArg, Ident, ItemFn, Lit, Meta, Pat, ReturnType, Type, parse_macro_input,
};

/// Declares a command of the app: see the crate's documentation.
#[proc_macro_attribute]
pub fn command(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = TokenStream2::from(attr);
        return syn::Error::new_spanned(attr, "`#[command]` takes no arguments")
            .to_compile_error()
            .into();
    }
    let func = parse_macro_input!(item as ItemFn);
    expand(func)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The description of the command at a path (`spec!(commands::auth::user_info)`): the constant
/// that [`command`] defines beside it.
#[proc_macro]
pub fn spec(input: TokenStream) -> TokenStream {
    let mut path = parse_macro_input!(input as syn::Path);
    if let Some(last) = path.segments.last_mut() {
        last.ident = spec_ident(&last.ident);
    }
    quote!(#path).into()
}

/// The name of the constant describing the command `name`.
fn spec_ident(name: &Ident) -> Ident {
    format_ident!("__command_spec_{}", name.unraw(), span = name.span())
}

fn expand(func: ItemFn) -> syn::Result<TokenStream2> {
    let name = &func.sig.ident;
    let name_str = name.unraw().to_string();
    let vis = &func.vis;
    let doc = doc_of(&func.attrs);
    if doc.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "a command needs a doc comment: it is also the doc of its TypeScript function",
        ));
    }
    let mut args = Vec::new();
    for input in &func.sig.inputs {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new_spanned(input, "a command takes no `self`"));
        };
        if is_state(&arg.ty) {
            continue;
        }
        let Pat::Ident(pat) = &*arg.pat else {
            return Err(syn::Error::new_spanned(
                &arg.pat,
                "a command's argument is a plain name: the UI sends it under that name",
            ));
        };
        let arg_name = pat.ident.unraw().to_string();
        let ty = &arg.ty;
        args.push(quote! {
            crate::bindings::ArgSpec::new(#arg_name, crate::bindings::TypeSpec::of::<#ty>())
        });
    }
    let ReturnType::Type(_, ret) = &func.sig.output else {
        return Err(syn::Error::new(
            func.sig.span(),
            "a command returns a `CmdResult<T>`",
        ));
    };
    let missing = format!(
        "the command `{name_str}` is declared but missing from the registry, src-tauri/registry.rs"
    );
    let check = quote_spanned! {name.span()=>
        const _: () = ::core::assert!(crate::is_registered(#name_str), #missing);
    };
    let spec = spec_ident(name);
    Ok(quote! {
        #[::tauri::command]
        #func

        /// The command, as the TypeScript bindings describe it.
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #spec: crate::bindings::CommandSpec = crate::bindings::CommandSpec::new(
            #name_str,
            #doc,
            &[#(#args),*],
            crate::bindings::TypeSpec::of::<<#ret as crate::commands::Returns>::Ok>(),
        );

        #check
    })
}

/// The doc comment, one line per `///` line, without the space after `///`.
fn doc_of(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(e) => match &e.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_string())
        .collect();
    lines.join("\n").trim().to_string()
}

/// Whether a parameter is Tauri's managed state (`State<'_, T>`), which the UI does not send.
fn is_state(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "State")
        }
        _ => false,
    }
}
