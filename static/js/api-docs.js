// Swagger UI for /api/docs/: loaded from the swagger-ui-dist package, no inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  var meta = function (name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  };
  window.ui = SwaggerUIBundle({
    url: meta("api-schema-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    displayRequestDuration: true,
    filter: true,
    // The staff session needs Django's CSRF token on unsafe methods.
    requestInterceptor: function (request) {
      request.headers["X-CSRFToken"] = meta("csrf-token");
      return request;
    },
  });
});
