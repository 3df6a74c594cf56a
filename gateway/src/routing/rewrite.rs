//! Rewrites, redirects and weighted destination choice.

use super::matching::RequestView;
use crate::config::{Match, Redirect, Rewrite, StrMatch, WeightedDestination};
use http::uri::PathAndQuery;

/// The path-and-query to send upstream after `rewrite.uri`.
///
/// When the route matched on a URI prefix, the prefix is replaced; otherwise the whole path
/// is (the query string is kept either way).
pub fn rewrite_path(rewrite: &Rewrite, matched: Option<&Match>, path_and_query: &str) -> String {
    let Some(new) = &rewrite.uri else {
        return path_and_query.to_owned();
    };
    if let Some(StrMatch::Prefix(prefix)) = matched.and_then(|m| m.uri.as_ref()) {
        if path_and_query.len() >= prefix.len() {
            let matches = if matched.is_some_and(|m| m.ignore_uri_case) {
                path_and_query.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            } else {
                path_and_query.starts_with(prefix.as_str())
            };
            if matches {
                let rest = &path_and_query[prefix.len()..];
                // Avoid `//` when both the replacement ends and the rest starts with `/`.
                if new.ends_with('/') && rest.starts_with('/') {
                    return format!("{new}{}", &rest[1..]);
                }
                return format!("{new}{rest}");
            }
        }
    }
    match path_and_query.split_once('?') {
        Some((_, q)) => format!("{new}?{q}"),
        None => new.clone(),
    }
}

/// The `location` of a redirect.
pub fn redirect_location(redirect: &Redirect, req: &RequestView<'_>) -> String {
    let scheme = redirect.scheme.as_deref().unwrap_or(req.scheme);
    let host = redirect
        .authority
        .clone()
        .unwrap_or_else(|| authority_host(req.authority).to_owned());
    let port = redirect
        .port
        .map(|p| format!(":{p}"))
        .or_else(|| {
            // Keep an explicit port from the request unless the authority or scheme changed.
            (redirect.authority.is_none() && redirect.scheme.is_none())
                .then(|| authority_port(req.authority).map(|p| format!(":{p}")))
                .flatten()
        })
        .unwrap_or_default();
    let path = match &redirect.uri {
        Some(uri) if uri.contains('?') => uri.clone(),
        Some(uri) => match req.parts.uri.query() {
            Some(q) => format!("{uri}?{q}"),
            None => uri.clone(),
        },
        None => req.path_and_query().to_owned(),
    };
    format!("{scheme}://{host}{port}{path}")
}

/// `https://host/path` for `tls.httpsRedirect` (the port is the default HTTPS port).
pub fn https_redirect_location(req: &RequestView<'_>) -> String {
    format!(
        "https://{}{}",
        authority_host(req.authority),
        req.path_and_query()
    )
}

fn authority_host(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |e| &authority[..=e]);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn authority_port(authority: &str) -> Option<&str> {
    let after = if authority.starts_with('[') {
        authority.find(']').map(|e| &authority[e + 1..])?
    } else {
        authority
    };
    after
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// Picks a destination by weight; `roll` is uniform in `0..total weight`.
pub fn pick_weighted(destinations: &[WeightedDestination], roll: u64) -> &WeightedDestination {
    let mut acc = 0u64;
    for d in destinations {
        acc += u64::from(d.weight);
        if roll < acc {
            return d;
        }
    }
    destinations
        .iter()
        .rev()
        .find(|d| d.weight > 0)
        .unwrap_or(&destinations[0])
}

/// Total weight (the range for [`pick_weighted`]'s roll).
pub fn total_weight(destinations: &[WeightedDestination]) -> u64 {
    destinations.iter().map(|d| u64::from(d.weight)).sum()
}

/// A path-and-query suitable for a URI, falling back to `/`.
pub fn valid_path(text: &str) -> PathAndQuery {
    text.parse()
        .unwrap_or_else(|_| PathAndQuery::from_static("/"))
}
