// Rapport's own script. No inline scripts anywhere: the CSP forbids them.
document.body.addEventListener("htmx:configRequest", (event) => {
  // htmx sends Django's CSRF token with every non-GET request.
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});
