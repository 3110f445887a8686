/* acme_msg.c - ACME response bodies into bounded C structs (see acme_msg.h). */
#include "acme/acme_msg.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PROBLEM_NS "urn:ietf:params:acme:error:"

static json_t *
load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL) {
		snprintf(err, errlen, "the answer is not JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* get_str - member key of o, a string that fits out; "" when absent and !required. */
static int
get_str(const json_t *o, const char *key, bool required, char *out, size_t outlen, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (v == NULL && !required)
		return 0;
	const char *s = json_string_value(v);
	if (s == NULL || strlen(s) >= outlen || strlen(s) != json_string_length(v)) {
		snprintf(err, errlen, "'%s' is %s", key, v == NULL ? "missing" :
		    s == NULL ? "not a string" : "too long or holds a NUL");
		return -1;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
get_url(const json_t *o, const char *key, bool required, char *out, char *err, size_t errlen)
{
	if (get_str(o, key, required, out, ACME_URL_MAX, err, errlen) < 0)
		return -1;
	if ((required || out[0] != '\0') && strncasecmp(out, "https://", 8) != 0) {
		snprintf(err, errlen, "'%s' is not an https URL", key);
		return -1;
	}
	return 0;
}

static enum acme_status
status_of(const json_t *o)
{
	static const char *const names[] = { "pending", "ready", "processing", "valid", "invalid" };
	const char *s = json_string_value(json_object_get(o, "status"));

	for (size_t i = 0; s != NULL && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum acme_status)i;
	return ACME_ST_OTHER;
}

/* problem_text - "type: detail" of a problem object. */
static void
problem_text(const json_t *p, char *out, size_t outlen)
{
	const char *type = json_string_value(json_object_get(p, "type"));
	const char *detail = json_string_value(json_object_get(p, "detail"));

	if (type != NULL && strncmp(type, PROBLEM_NS, strlen(PROBLEM_NS)) == 0)
		type += strlen(PROBLEM_NS);
	if (type == NULL && detail == NULL)
		snprintf(out, outlen, "(no detail)");
	else
		snprintf(out, outlen, "%s%s%s", type ? type : "", type && detail ? ": " : "",
		    detail ? detail : "");
}

int
acme_parse_directory(const char *body, size_t len, struct acme_directory *d, char *err,
    size_t errlen)
{
	json_t *j = load(body, len, err, errlen);
	int rc = -1;

	if (j == NULL)
		return -1;
	if (get_url(j, "newNonce", true, d->new_nonce, err, errlen) == 0 &&
	    get_url(j, "newAccount", true, d->new_account, err, errlen) == 0 &&
	    get_url(j, "newOrder", true, d->new_order, err, errlen) == 0)
		rc = 0;
	json_decref(j);
	return rc;
}

int
acme_parse_order(const char *body, size_t len, struct acme_order *o, char *err, size_t errlen)
{
	json_t *j = load(body, len, err, errlen);
	int rc = -1;

	if (j == NULL)
		return -1;
	o->status = status_of(j);
	o->nauthz = 0;
	o->error[0] = '\0';
	if (json_is_object(json_object_get(j, "error")))
		problem_text(json_object_get(j, "error"), o->error, sizeof o->error);
	if (get_url(j, "finalize", true, o->finalize, err, errlen) < 0 ||
	    get_url(j, "certificate", false, o->certificate, err, errlen) < 0)
		goto out;
	json_t *list = json_object_get(j, "authorizations");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > ACME_MAX_AUTHZ) {
		snprintf(err, errlen, "'authorizations' is not a list of 1 to %d URLs", ACME_MAX_AUTHZ);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *u = json_string_value(json_array_get(list, i));
		if (u == NULL || strlen(u) >= ACME_URL_MAX || strncasecmp(u, "https://", 8) != 0) {
			snprintf(err, errlen, "authorization %zu is not an https URL", i + 1);
			goto out;
		}
		memcpy(o->authz[o->nauthz++], u, strlen(u) + 1);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

bool
acme_token_ok(const char *token)
{
	size_t n = strlen(token);

	if (n == 0 || n >= ACME_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	return true;
}

int
acme_parse_authz(const char *body, size_t len, struct acme_authz *a, char *err, size_t errlen)
{
	json_t *j = load(body, len, err, errlen);
	int rc = -1;
	char type[16];

	if (j == NULL)
		return -1;
	a->status = status_of(j);
	a->nchal = 0;
	a->error[0] = '\0';
	json_t *id = json_object_get(j, "identifier");
	if (get_str(id, "type", true, type, sizeof type, err, errlen) < 0 ||
	    get_str(id, "value", true, a->name, sizeof a->name, err, errlen) < 0)
		goto out;
	if (strcmp(type, "dns") != 0) {
		snprintf(err, errlen, "identifier of type '%s', not dns", type);
		goto out;
	}
	json_t *list = json_object_get(j, "challenges");
	if (!json_is_array(list)) {
		snprintf(err, errlen, "'challenges' is not a list");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		struct acme_challenge_obj *ch = &a->chal[a->nchal];
		if (json_is_object(json_object_get(c, "error")) && a->error[0] == '\0')
			problem_text(json_object_get(c, "error"), a->error, sizeof a->error);
		/* Types we do not know may carry other fields: skip them whole. */
		if (a->nchal == ACME_MAX_CHALLENGES ||
		    get_str(c, "type", true, ch->type, sizeof ch->type, err, errlen) < 0 ||
		    (strcmp(ch->type, "http-01") != 0 && strcmp(ch->type, "tls-alpn-01") != 0))
			continue;
		if (get_url(c, "url", true, ch->url, err, errlen) < 0 ||
		    get_str(c, "token", true, ch->token, sizeof ch->token, err, errlen) < 0)
			goto out;
		if (!acme_token_ok(ch->token)) {
			snprintf(err, errlen, "a %s token is not base64url", ch->type);
			goto out;
		}
		ch->status = status_of(c);
		a->nchal++;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

bool
acme_parse_problem(const char *body, size_t len, char *out, size_t outlen)
{
	json_error_t je;
	json_t *j = body != NULL ? json_loadb(body, len, 0, &je) : NULL;
	bool bad_nonce = false;

	if (json_is_object(j)) {
		const char *type = json_string_value(json_object_get(j, "type"));
		bad_nonce = type != NULL && strcmp(type, PROBLEM_NS "badNonce") == 0;
		problem_text(j, out, outlen);
	} else {
		snprintf(out, outlen, "(no detail)");
	}
	json_decref(j);
	return bad_nonce;
}
