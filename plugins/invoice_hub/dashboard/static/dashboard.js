// The few actions of the Invoices pages: resend and manual export start a DAG run through the
// dashboard's JSON API. A button is disabled after the first click, and the request carries the
// token the page was rendered with, so a second click cannot start a second run.
"use strict";
(() => {  // follow the light / dark mode chosen in Airflow's UI (same origin: the same localStorage)
  try {
    const theme = window.localStorage.getItem("theme");
    if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  } catch (error) { /* storage disabled: the system's preference applies */ }
})();
function hubPost(form, url, body) {
  const button = form.querySelector("button[type=submit]");
  const out = form.querySelector(".result");
  button.disabled = true;
  out.textContent = "Starting…";
  out.className = "result notice";
  fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      out.className = "result notice bad";
      out.textContent = data.detail ? String(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : response.statusText;
      button.disabled = false;
      return;
    }
    out.className = "result notice ok";
    out.textContent = (data.created ? "Started run " : "Already started: run ") + data.run_id + " (" + data.state + "). ";
    const link = document.createElement("a");
    link.href = data.url; link.target = "_top"; link.textContent = "Open the run in Airflow";
    out.appendChild(link);
  }).catch((error) => {
    out.className = "result notice bad"; out.textContent = String(error); button.disabled = false;
  });
}
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.dataset.action) return;
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(form).entries());
  if (form.dataset.action === "resend") {
    const [index, destination] = fields.target.split("|");
    delete fields.target;
    fields.document = Number(index);
    fields.destination = destination;
  }
  if (form.dataset.action === "export") {
    const numbers = (fields.invoice_numbers || "").split(/[\s,]+/).filter(Boolean);
    fields.invoice_numbers = numbers;
  }
  hubPost(form, form.dataset.url, fields);
});
