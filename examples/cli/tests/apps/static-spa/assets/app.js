// The client-side router: every path is a route of this page.
document.getElementById("app").textContent = "route " + window.location.pathname;
