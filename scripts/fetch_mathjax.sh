#!/usr/bin/env bash
# Copy MathJax 3 from the npm registry into docs/javascripts/mathjax/ (git-ignored), so that the
# site, `mkdocs serve` included, typesets math without the network. Without this step the pages
# load MathJax from a CDN (docs/javascripts/mathjax.js tries the local copy first).
# Needs npm. Usage: bash scripts/fetch_mathjax.sh
set -euo pipefail
version="${MATHJAX_VERSION:-3.2.2}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="$repo/docs/javascripts/mathjax"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$version" > /dev/null && tar -xzf "mathjax-$version.tgz")
rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts"
src="$tmp/package/es5"
cp "$src/tex-mml-chtml.js" "$dest/"
cp -r "$src/input" "$src/ui" "$dest/"
cp -r "$src/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp "$tmp/package/LICENSE" "$dest/"
echo "MathJax $version copied into ${dest#"$repo"/}"
