"""The page's CSS and its small client-side scripts."""

CSS = """
.rag-cite { color: var(--color-accent); text-decoration: none; font-weight: 600; padding: 0 1px; cursor: pointer; }
.rag-cite:hover { background: var(--color-accent-soft); }
.rag-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
.rag-passage summary { cursor: pointer; }
.rag-meta { font-size: 0.85em; opacity: 0.8; margin-right: 6px; }
.rag-title { font-weight: 600; }
.rag-text { white-space: pre-wrap; font-size: 0.9em; margin-top: 6px; overflow-wrap: anywhere; }
.rag-text mark { background: #ffe58a; color: #222; padding: 0 1px; }
.rag-flash { outline: 3px solid var(--color-accent); transition: outline 0.3s; }
.rag-decline { font-style: italic; }
.rag-uploaded, .rag-flagged { color: #b45309; font-weight: 600; }
#chat [data-testid="bot"], #chat [data-testid="user"] { white-space: pre-wrap; }
.rag-query { font-size: 0.9em; }
.rag-turn > summary { cursor: pointer; opacity: 0.8; }
.rag-status table { font-size: 0.85em; width: 100%; }
"""

# A click on a [n] marker opens its passage in the sources panel (and any collapsed section around it).
JS = """
() => {
  const show = (id, tries) => {
    const el = document.getElementById(id);
    if (!el) { if (tries > 0) setTimeout(() => show(id, tries - 1), 100); return; }
    for (let p = el; p; p = p.parentElement) { if (p.tagName === 'DETAILS') p.open = true; }
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.remove('rag-flash'); void el.offsetWidth; el.classList.add('rag-flash');
  };
  document.addEventListener('click', (e) => {
    const a = e.target.closest ? e.target.closest('a[href^="#src-"]') : null;
    if (!a) return;
    e.preventDefault();
    show(a.getAttribute('href').slice(1), 20);
  }, true);
}
"""
COPY_JS = "(text) => { if (text) navigator.clipboard.writeText(text); }"
