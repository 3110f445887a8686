/*
 * html.c - the escaping formatter and the frame of every page. Pages use no
 * inline style or script (the Content-Security-Policy forbids them): the look
 * is /static/style.css, the little behaviour /static/app.js, and every form
 * works without it.
 */
#include "http/html.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int
html_esc(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep != NULL ? buf_append(b, rep, strlen(rep)) < 0 : buf_putc(b, *s) < 0)
			return -1;
	}
	return 0;
}

int
html_vfmt(struct buf *b, const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			size_t run = strcspn(p, "%");
			if (buf_append(b, p, run) < 0)
				return -1;
			p += run - 1;
			continue;
		}
		int rc;
		switch (*++p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			rc = html_esc(b, s != NULL ? s : "");
			break;
		}
		case 'r': {
			const char *s = va_arg(ap, const char *);
			rc = s != NULL ? buf_append(b, s, strlen(s)) : 0;
			break;
		}
		case 'd': rc = buf_printf(b, "%d", va_arg(ap, int)); break;
		case 'u': rc = buf_printf(b, "%u", va_arg(ap, unsigned)); break;
		case 'U': rc = buf_printf(b, "%" PRIu64, va_arg(ap, uint64_t)); break;
		case '%': rc = buf_putc(b, '%'); break;
		default: return -1;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
html_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = html_vfmt(b, fmt, ap);
	va_end(ap);
	return rc;
}

struct nav_entry {
	const char *path, *label;
};

static const struct nav_entry admin_nav[] = {
	{ "/admin/", "Overview" }, { "/admin/domains", "Domains" }, { "/admin/users", "Users" },
	{ "/admin/aliases", "Aliases" }, { "/admin/queue", "Queue" }, { NULL, NULL },
};
static const struct nav_entry account_nav[] = {
	{ "/account/", "Overview" }, { "/account/password", "Password" },
	{ "/account/app-passwords", "App passwords" }, { "/account/forward", "Forwarding" },
	{ "/account/vacation", "Vacation" }, { NULL, NULL },
};

static int
nav(struct buf *b, const struct html_page *p)
{
	const struct nav_entry *e = p->section == HTML_ADMIN ? admin_nav :
	    p->section == HTML_ACCOUNT ? account_nav : NULL;

	if (e == NULL || p->who == NULL)
		return 0;
	if (html_fmt(b, "<nav class=\"nav\" aria-label=\"Sections\"><ul>") < 0)
		return -1;
	for (; e->path != NULL; e++) {
		bool here = p->current != NULL && strcmp(p->current, e->path) == 0;
		if (html_fmt(b, "<li><a href=\"%s\"%r>%s</a></li>", e->path,
		    here ? " aria-current=\"page\"" : "", e->label) < 0)
			return -1;
	}
	return html_fmt(b, "</ul></nav>");
}

int
html_begin(struct buf *b, const struct html_page *p)
{
	const char *area = p->section == HTML_ADMIN ? "Administration" :
	    p->section == HTML_ACCOUNT ? "My account" : "mailroom";

	if (html_fmt(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>%s · mailroom</title>"
	    "<link rel=\"stylesheet\" href=\"/static/style.css\">"
	    "<script src=\"/static/app.js\" defer></script></head>\n<body>"
	    "<header class=\"top\"><div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">"
	    "&#9993;</span> mailroom <span class=\"area\">%s</span></div>", p->title, area) < 0)
		return -1;
	if (p->who != NULL && p->csrf != NULL &&
	    (html_fmt(b, "<div class=\"who\"><span>%s</span>", p->who) < 0 ||
	    html_form_begin(b, "logout", "/logout", p->csrf, NULL) < 0 ||
	    html_fmt(b, "<button type=\"submit\" class=\"link\">Log out</button></form></div>") < 0))
		return -1;
	if (html_fmt(b, "</header>\n<div class=\"frame\">") < 0 || nav(b, p) < 0 ||
	    html_fmt(b, "<main><h1>%s</h1>\n", p->title) < 0)
		return -1;
	if (p->notice != NULL &&
	    html_fmt(b, "<p class=\"notice\" role=\"status\">%s</p>\n", p->notice) < 0)
		return -1;
	if (p->error != NULL &&
	    html_fmt(b, "<p class=\"error\" role=\"alert\">%s</p>\n", p->error) < 0)
		return -1;
	return 0;
}

int
html_end(struct buf *b)
{
	return html_fmt(b, "</main></div>\n</body></html>\n");
}

int
html_form_begin(struct buf *b, const char *id, const char *action, const char *csrf,
    const char *confirm)
{
	if (html_fmt(b, "<form method=\"post\" action=\"%s\" id=\"%s\"", action, id) < 0)
		return -1;
	if (confirm != NULL && html_fmt(b, " data-confirm=\"%s\"", confirm) < 0)
		return -1;
	return html_fmt(b, "><input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    csrf != NULL ? csrf : "");
}

void
html_size(char *out, size_t outlen, uint64_t bytes)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%" PRIu64 " bytes", bytes);
	else
		snprintf(out, outlen, "%.1f %s", v, unit[u]);
}
