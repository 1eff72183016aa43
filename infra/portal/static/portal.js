// seatledger portal: conveniences on top of pages that work without it.
// - forms marked data-autosubmit send themselves when a control changes
//   (the account switcher, list filters); their submit button stays for
//   keyboard and script-less use.
// - a checkbox marked data-select-all ticks every row checkbox of its form.
// - a button marked data-needs-selection="name" is disabled while no
//   checkbox of that name is ticked in its form (without the script the
//   server answers such a submit with a message instead).
(function () {
  "use strict";
  function submit(form) {
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
  }
  function updateSelectionButtons() {
    document.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      var form = button.form;
      if (!form) { return; }
      var name = button.getAttribute("data-needs-selection");
      button.disabled = !form.querySelector("input[type=checkbox][name='" + name + "']:checked");
    });
  }
  document.addEventListener("DOMContentLoaded", updateSelectionButtons);
  document.addEventListener("htmx:load", updateSelectionButtons);
  window.addEventListener("pageshow", updateSelectionButtons);
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!(t instanceof HTMLElement)) { return; }
    if (t.hasAttribute("data-select-all")) {
      var form = t.form;
      if (!form) { return; }
      form.querySelectorAll("input[type=checkbox][name='" + t.getAttribute("data-select-all") + "']").forEach(function (box) {
        box.checked = t.checked;
      });
      updateSelectionButtons();
      return;
    }
    if (t.matches("input[type=checkbox]")) { updateSelectionButtons(); }
    var auto = t.closest("form[data-autosubmit]");
    if (auto && t.matches("select, input[type=checkbox], input[type=radio]")) { submit(auto); }
  });
})();
