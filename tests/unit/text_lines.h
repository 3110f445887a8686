/*
 * text_lines.h - for the unit tests of text output: whether a text holds a line
 * whole (not as part of a longer one). Include after <cmocka.h>.
 */
#ifndef MAILROOM_TEST_TEXT_LINES_H
#define MAILROOM_TEST_TEXT_LINES_H

#include <stdbool.h>
#include <string.h>

/* has_line - whether text holds line as one whole line (ended by a newline). */
static inline bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static inline void
expect_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static inline void
expect_no_line(const char *text, const char *line)
{
	if (has_line(text, line))
		fail_msg("unexpected line \"%s\"", line);
}

#endif
