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
.rag-models { font-size: 0.85em; opacity: 0.8; margin: 0; }
#digest { max-height: 75vh; overflow-y: auto; }
#digest .rag-field { margin: 6px 0; }
#digest .rag-field > summary { cursor: pointer; font-weight: 600; }
#digest .rag-field ul { margin: 4px 0 0 0; padding-left: 18px; }
#digest .rag-paper { margin: 8px 0; line-height: 1.4; }
#digest .rag-contribution { font-size: 0.9em; opacity: 0.85; overflow-wrap: anywhere; }
#digest button.rag-ask { font-size: 12px; font-weight: 500; line-height: 1.4; padding: 0 8px; margin: 0 0 0 4px;
  border: 1px solid var(--border-color-primary); border-radius: 4px; cursor: pointer; vertical-align: baseline;
  background: var(--button-secondary-background-fill); }
#digest button.rag-ask:hover { background: var(--color-accent-soft); }
"""

# A click on a [n] marker opens its passage in the sources panel (and any collapsed section around it), bringing
# the Sources tab forward when the digests are shown in its place.
JS = """
() => {
  const show = (id, tries) => {
    const el = document.getElementById(id);
    if (el) { for (let p = el; p; p = p.parentElement) { if (p.tagName === 'DETAILS') p.open = true; } }
    if (!el || !el.offsetParent) { if (tries > 0) setTimeout(() => show(id, tries - 1), 100); return; }
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.remove('rag-flash'); void el.offsetWidth; el.classList.add('rag-flash');
  };
  document.addEventListener('click', (e) => {
    const a = e.target.closest ? e.target.closest('a[href^="#src-"]') : null;
    if (!a) return;
    e.preventDefault();
    const tab = document.getElementById('sources-tab-button');
    if (tab && tab.getAttribute('aria-selected') !== 'true') tab.click();
    show(a.getAttribute('href').slice(1), 20);
  }, true);
}
"""
COPY_JS = "(text) => { if (text) navigator.clipboard.writeText(text); }"
# The digest view's Ask buttons: each sends its paper's question to the server (`Backend.ask_paper`), and the
# chat, where the answer comes, is brought into view (on a narrow screen it is above the digests).
ASK_JS = """
element.addEventListener('click', (e) => {
  const button = e.target.closest ? e.target.closest('button.rag-ask') : null;
  if (!button) return;
  trigger('click', {question: button.dataset.question});
  const chat = document.getElementById('chat');
  if (chat) chat.scrollIntoView({behavior: 'smooth', block: 'nearest'});
});
"""
