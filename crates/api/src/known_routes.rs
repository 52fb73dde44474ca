//! The documented routes, matched segment by segment: which methods a path answers (to
//! tell 405 from 404), and which route pattern a request took, for its log line and its
//! metrics. The router's own answer to the latter (`ResourceMap::match_pattern`) tries
//! every route's regex in turn, which cost more than the rest of a cached read.

use actix_web::dev::ServiceRequest;
use actix_web::{web, HttpMessage};
use utoipa::openapi::OpenApi;

/// The documented routes, by their number of segments.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    by_length: Vec<Vec<Route>>,
}

#[derive(Debug, Clone)]
struct Route {
    pattern: String,
    segments: Vec<Segment>,
    methods: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

impl Route {
    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.iter().zip(segments).all(|(template, segment)| match template {
            Segment::Literal(literal) => literal == segment,
            Segment::Parameter => !segment.is_empty(),
        })
    }

    /// Where templates overlap (`/Users/.search` and `/Users/{id}`), the one with a literal
    /// where the others have a parameter, from the left, is the more specific.
    fn specificity(&self) -> impl Iterator<Item = bool> + '_ {
        self.segments.iter().map(|s| matches!(s, Segment::Literal(_)))
    }
}

impl KnownRoutes {
    /// Read from the document, which is read from the registered routes.
    pub fn from_openapi(api: &OpenApi) -> Self {
        let mut by_length: Vec<Vec<Route>> = Vec::new();
        for (path, item) in &api.paths.paths {
            let segments: Vec<Segment> = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Parameter
                    } else {
                        Segment::Literal(s.to_owned())
                    }
                })
                .collect();
            let methods = [
                ("GET", item.get.is_some()),
                ("HEAD", item.head.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
                ("OPTIONS", item.options.is_some()),
                ("TRACE", item.trace.is_some()),
            ];
            let length = segments.len();
            if by_length.len() <= length {
                by_length.resize_with(length + 1, Vec::new);
            }
            by_length[length].push(Route {
                pattern: path.clone(),
                segments,
                methods: methods.into_iter().filter(|(_, has)| *has).map(|(m, _)| m).collect(),
            });
        }
        Self { by_length }
    }

    /// The most specific documented routes `path` matches: one, or several templates that
    /// differ in their parameters' names only.
    fn most_specific<'r>(&'r self, path: &str) -> impl Iterator<Item = &'r Route> + 'r {
        let segments: Vec<&str> = path.split('/').collect();
        let candidates = self.by_length.get(segments.len()).map(Vec::as_slice).unwrap_or_default();
        let matching: Vec<&Route> = candidates.iter().filter(|route| route.matches(&segments)).collect();
        let best = matching.iter().max_by(|a, b| a.specificity().cmp(b.specificity())).copied();
        matching.into_iter().filter(move |route| best.is_some_and(|best| route.specificity().eq(best.specificity())))
    }

    /// The methods `path` answers, when it is a documented path.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let mut allowed: Vec<&'static str> = Vec::new();
        for method in self.most_specific(path).flat_map(|route| &route.methods) {
            if !allowed.contains(method) {
                allowed.push(method);
            }
        }
        (!allowed.is_empty()).then_some(allowed)
    }

    /// The documented route pattern `path` takes (`/v1/orgs/{org}`), if any.
    pub fn pattern(&self, path: &str) -> Option<&str> {
        self.most_specific(path).next().map(|route| route.pattern.as_str())
    }
}

/// The route pattern a request took, kept on it once matched.
#[derive(Clone)]
struct RoutedAs(Option<String>);

/// The route pattern the request takes: matched on the path as the router sees it
/// (percent-decoded where it decodes), among the documented routes first and then by the
/// router, for the few that are not documented (`/docs/…`). `None` for a path no route
/// takes. Matched once per request: the log line and the metrics both ask.
pub fn route_pattern(request: &ServiceRequest) -> Option<String> {
    if let Some(RoutedAs(pattern)) = request.extensions().get::<RoutedAs>() {
        return pattern.clone();
    }
    let routed = request.match_info().as_str();
    let documented = request.app_data::<web::Data<KnownRoutes>>().and_then(|routes| routes.pattern(routed));
    let pattern = match documented {
        Some(pattern) => Some(pattern.to_owned()),
        None => request.resource_map().match_pattern(routed),
    };
    request.extensions_mut().insert(RoutedAs(pattern.clone()));
    pattern
}

#[cfg(test)]
mod tests {
    use actix_web::dev::Service;
    use actix_web::test as actix_test;
    use actix_web::{App, HttpResponse};
    use utoipa::OpenApi as _;
    use utoipa_actix_web::{scope, AppExt};

    use super::*;
    use crate::openapi::ApiDoc;
    use crate::routes;

    /// A path of `template` with every parameter filled in.
    fn sample(template: &str) -> String {
        template
            .split('/')
            .map(|s| if s.starts_with('{') && s.ends_with('}') { "sample_1" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[actix_web::test]
    async fn every_documented_route_is_named_as_the_router_names_it() {
        let (app, api) = crate::startup::register_routes!(App::new());
        let routes = KnownRoutes::from_openapi(&api);
        let templates: Vec<String> = api.paths.paths.keys().cloned().collect();
        assert!(templates.len() > 60, "{} documented paths", templates.len());
        let app = actix_test::init_service(app.app_data(web::Data::new(routes)).wrap_fn(|req, _| {
            let ours = route_pattern(&req);
            let routers = req.resource_map().match_pattern(req.match_info().as_str());
            let body = serde_json::json!([ours, routers]).to_string();
            std::future::ready(Ok(req.into_response(HttpResponse::Ok().body(body))))
        }))
        .await;
        for template in &templates {
            let request = actix_test::TestRequest::get().uri(&sample(template)).to_request();
            let answer = actix_test::read_body(app.call(request).await.expect("answered")).await;
            let [ours, routers]: [Option<String>; 2] = serde_json::from_slice(&answer).expect("two patterns");
            assert_eq!(ours.as_deref(), Some(template.as_str()), "{template}");
            // The router's own answer ignores methods: where a literal template
            // (`/Groups/.search`, POST) overlaps a parameter one (`/Groups/{id}`, GET), the
            // method guards route the request to the literal one, and so names it this module.
            let routers = routers.unwrap_or_else(|| panic!("the router has no route for {template}"));
            if routers != *template {
                let first_difference = template.split('/').zip(routers.split('/')).find(|(a, b)| a != b);
                assert!(
                    first_difference.is_some_and(|(ours, its)| !ours.starts_with('{') && its.starts_with('{')),
                    "{template} is named as the router's {routers}"
                );
            }
        }
        let unknown = actix_test::TestRequest::get().uri("/v1/orgs/sample_1/nothing-here").to_request();
        let answer = actix_test::read_body(app.call(unknown).await.expect("answered")).await;
        assert_eq!(answer, "[null,null]");
    }

    #[test]
    fn the_literal_template_wins_over_a_parameter() {
        let mut api = OpenApi::default();
        for path in ["/scim/v2/Users/{id}", "/scim/v2/Users/.search"] {
            api.paths.paths.insert(path.to_owned(), Default::default());
        }
        let routes = KnownRoutes::from_openapi(&api);
        assert_eq!(routes.pattern("/scim/v2/Users/.search"), Some("/scim/v2/Users/.search"));
        assert_eq!(routes.pattern("/scim/v2/Users/abc"), Some("/scim/v2/Users/{id}"));
        assert_eq!(routes.pattern("/scim/v2/Users/"), None);
        assert_eq!(routes.pattern("/scim/v2/Users"), None);
    }
}
