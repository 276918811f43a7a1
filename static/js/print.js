// Print the proof of filing (the print stylesheet hides everything but the proof). Without JavaScript the
// button stays hidden and the "printable page" form (a POST) opens a page with only the proof.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-proof");
  if (button) { button.hidden = false; button.addEventListener("click", function () { window.print(); }); }
});
