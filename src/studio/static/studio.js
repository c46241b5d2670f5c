// bindu-db studio: the page's only script. "show all" links of folded texts load the whole
// part in place (as text, never as markup); without this script they open it as a page.
document.addEventListener('click', async (event) => {
  const link = event.target instanceof Element ? event.target.closest('a.more') : null;
  if (!link) return;
  const fold = link.closest('.fold');
  const pre = fold && fold.previousElementSibling;
  if (!pre || pre.tagName !== 'PRE') return;
  event.preventDefault();
  link.textContent = 'loading…';
  try {
    const response = await fetch(link.href, { credentials: 'omit', referrerPolicy: 'no-referrer' });
    if (!response.ok) throw new Error(String(response.status));
    pre.textContent = await response.text();
    fold.remove();
  } catch (err) {
    link.textContent = `could not load (${err.message}): open it`;
    link.classList.remove('more');
  }
});
