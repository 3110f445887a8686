/*
 * fuzz_mta_sts.c - libFuzzer harness for the MTA-STS and TLS-RPT parsers. The
 * input is read as an _mta-sts TXT record (an id found must be 1 to 32 letters
 * and digits), as a policy (a parsed one must have a known mode, max_age at most a
 * year, and unless its mode is none an mx pattern, each one lower case and
 * terminated), and as a _smtp._tls record (each URI found terminated, a mailto:
 * one with an '@'). Split at its first NUL, the two parts are matched as pattern
 * and host, and a match must hold with the host in upper case too.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/mta_sts.h"
#include "deliver/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_policy(const char *p, size_t n)
{
	struct sts_policy pol;
	char why[128];

	if (sts_policy_parse(p, n, &pol, why, sizeof why) < 0)
		return;
	if (pol.mode > STS_ENFORCE || pol.max_age > STS_MAX_AGE_MAX || pol.nmx > STS_MX_MAX ||
	    (pol.mode != STS_NONE && pol.nmx == 0))
		abort();
	for (size_t i = 0; i < pol.nmx; i++) {
		size_t l = strnlen(pol.mx[i], STS_NAME_MAX);
		if (l == 0 || l == STS_NAME_MAX)
			abort();
		for (size_t k = 0; k < l; k++)
			if (isupper((unsigned char)pol.mx[i][k]))
				abort();
	}
}

static void
check_txt(const char *p, size_t n)
{
	char id[STS_ID_MAX + 1];
	int rc = sts_txt_parse(p, n, id);

	if (rc < -1 || rc > 1)
		abort();
	if (rc == 1) {
		size_t l = strnlen(id, sizeof id);
		if (l == 0 || l > STS_ID_MAX)
			abort();
		for (size_t k = 0; k < l; k++)
			if (!isalnum((unsigned char)id[k]))
				abort();
	}
}

static void
check_rua(const char *p, size_t n)
{
	char uri[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	bool mail[TLSRPT_RUA_MAX];
	size_t k = 0;
	int rc = tlsrpt_record_parse(p, n, uri, mail, TLSRPT_RUA_MAX, &k);

	if (rc < -1 || rc > 1 || k > TLSRPT_RUA_MAX || (rc == 1) != (k > 0))
		abort();
	for (size_t i = 0; i < k; i++) {
		if (strnlen(uri[i], TLSRPT_URI_MAX) == TLSRPT_URI_MAX)
			abort();
		if (mail[i] && strchr(uri[i], '@') == NULL)
			abort();
	}
}

static void
check_match(const char *pattern, const char *host)
{
	char up[512];
	size_t n = strlen(host);

	if (n >= sizeof up)
		return;
	for (size_t i = 0; i <= n; i++)
		up[i] = (char)toupper((unsigned char)host[i]);
	if (sts_mx_match(pattern, host) != sts_mx_match(pattern, up))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	check_txt(p, size);
	check_policy(p, size);
	check_rua(p, size);
	const uint8_t *nul = memchr(data, 0, size);
	if (nul != NULL && size < 1024) {
		char *copy = malloc(size + 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, data, size);
		copy[size] = '\0';
		check_match(copy, copy + (nul - data) + 1);
		free(copy);
	}
	return 0;
}
