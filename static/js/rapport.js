// Rapport's own script. No inline scripts anywhere: the CSP forbids them.
document.body.addEventListener("htmx:configRequest", (event) => {
  // htmx sends Django's CSRF token with every non-GET request.
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

// htmx does not swap 4xx answers by default. Parts that answer bad input with a 400
// and a re-rendered fragment (the error shown in place) opt in with data-swap-errors.
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 400 || status === 409) && event.target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
