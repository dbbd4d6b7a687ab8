// A small Python highlighter: one left-to-right scan with a single regular expression of
// alternatives (comment, string, number, word, decorator); everything is HTML-escaped.
(function () {
  "use strict";
  var KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else " +
    "except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case").split(" "));
  var BUILTINS = new Set("print len range str int float bool list dict set tuple dict enumerate zip open isinstance sorted min max sum any all".split(" "));
  var TOKEN = /(#[^\n]*)|([rRbBfFuU]{0,2}(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))|(\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(@[A-Za-z_][\w.]*)|([A-Za-z_]\w*)/g;

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function span(cls, text) { return '<span class="tok-' + cls + '">' + escape(text) + "</span>"; }

  function highlightPython(source) {
    var out = "", last = 0, previousWord = "", match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(source)) !== null) {
      if (match[0] === "") { TOKEN.lastIndex++; continue; }
      out += escape(source.slice(last, match.index));
      if (match[1]) out += span("com", match[1]);
      else if (match[2]) out += span("str", match[2]);
      else if (match[3]) out += span("num", match[3]);
      else if (match[4]) out += span("deco", match[4]);
      else {
        var word = match[5];
        if (KEYWORDS.has(word)) out += span("kw", word);
        else if (previousWord === "def" || previousWord === "class") out += span("def", word);
        else if (BUILTINS.has(word)) out += span("builtin", word);
        else out += escape(word);
        previousWord = word;
        last = TOKEN.lastIndex;
        continue;
      }
      previousWord = "";
      last = TOKEN.lastIndex;
    }
    return out + escape(source.slice(last));
  }
  window.highlightPython = highlightPython;
  window.escapeHtml = escape;
})();
