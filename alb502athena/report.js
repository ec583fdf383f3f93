// The report's only script (its hash is in the page's Content-Security-Policy): the Copy SQL buttons.
function copyBySelection(text) {
  var area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  var copied = document.execCommand("copy");
  document.body.removeChild(area);
  return copied;
}
document.querySelectorAll("button.copy").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.target).dataset.sql;
    var done = function () { button.textContent = "Copied"; };
    var fallback = function () { if (copyBySelection(text)) { done(); } };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      // A page opened from a file may be refused the clipboard API: then copy by selection.
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  });
});
