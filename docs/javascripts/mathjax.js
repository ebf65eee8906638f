// MathJax 3 for the arithmatex output of pymdownx (\( ... \) inline, \[ ... \] display).
// The local copy in javascripts/mathjax/ (made by scripts/fetch_mathjax.sh) is loaded when it
// exists, so the site works offline; otherwise MathJax comes from a CDN.
(function () {
  // Math in headings also appears in the navigation and the table of contents, as plain text:
  // give those entries the class MathJax typesets.
  function markNavigation() {
    document.querySelectorAll(".md-nav__link, .md-nav__link .md-ellipsis").forEach(function (el) {
      if (el.textContent.indexOf("\\(") !== -1 && !el.querySelector(".arithmatex")) {
        el.classList.add("arithmatex");
      }
    });
  }

  window.MathJax = {
    tex: {
      inlineMath: [["\\(", "\\)"]],
      displayMath: [["\\[", "\\]"]],
      processEscapes: true,
      processEnvironments: true
    },
    options: {
      ignoreHtmlClass: ".*|",
      processHtmlClass: "arithmatex"
    },
    startup: {
      pageReady: function () {
        markNavigation();
        return MathJax.startup.defaultPageReady();
      }
    }
  };

  var here = document.currentScript ? document.currentScript.src : "";
  var cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js";
  function load(src, fallback) {
    var script = document.createElement("script");
    script.src = src;
    script.async = true;
    if (fallback) {
      script.onerror = function () { load(fallback, null); };
    }
    document.head.appendChild(script);
  }
  load(here ? new URL("mathjax/tex-mml-chtml.js", here).href : cdn, here ? cdn : null);

  // Material's instant navigation swaps pages without reloading scripts: typeset again.
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () {
      if (window.MathJax && MathJax.typesetPromise) {
        markNavigation();
        MathJax.typesetPromise();
      }
    });
  }
})();
