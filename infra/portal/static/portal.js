// seatledger portal: conveniences on top of pages that work without it.
// - forms marked data-autosubmit send themselves when a control changes
//   (the account switcher, list filters); their submit button stays for
//   keyboard and script-less use.
// - a checkbox marked data-select-all ticks every row checkbox of its form.
(function () {
  "use strict";
  function submit(form) {
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
  }
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!(t instanceof HTMLElement)) { return; }
    if (t.hasAttribute("data-select-all")) {
      var form = t.form;
      if (!form) { return; }
      form.querySelectorAll("input[type=checkbox][name='" + t.getAttribute("data-select-all") + "']").forEach(function (box) {
        box.checked = t.checked;
      });
      return;
    }
    var auto = t.closest("form[data-autosubmit]");
    if (auto && t.matches("select, input[type=checkbox], input[type=radio]")) { submit(auto); }
  });
})();
