/*
 * test_web_ops.c - unit tests for web_ops_run on a store in a temporary
 * directory: every operation's answer and status, and every refusal: no
 * principal, a user calling an admin operation, an admin calling a self.*
 * one, a user's operations never reaching another address, bad arguments,
 * things missing or already there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "accounts.h"
#include "accounts_users.h"
#include "accounts_web.h"
#include "config.h"
#include "web/web_ops.h"

struct fixture {
	char dir[64];
	struct accounts *a;
	struct config cfg;
	struct web_who admin, joe, ann;
	struct buf json;
	json_t *doc; /* the last answer, parsed */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_web_ops.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "a.test", err, sizeof err) < 0 ||
	    accounts_domain_add(f->a, "b.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "joe@a.test", "joe-pw", 0, err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "ann@a.test", "ann-pw", 1000, err, sizeof err) < 0 ||
	    accounts_admin_add(f->a, "boss", "boss-pw", 1, err, sizeof err) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	config_defaults(&f->cfg);
	free(f->cfg.hostname);
	f->cfg.hostname = strdup("mx.a.test");
	f->admin = (struct web_who){ .kind = WEB_ADMIN, .name = "boss" };
	f->joe = (struct web_who){ .kind = WEB_USER, .name = "joe@a.test" };
	f->ann = (struct web_who){ .kind = WEB_USER, .name = "ann@a.test" };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "accounts.db", "accounts.db-wal", "accounts.db-shm" };
	char p[128];

	json_decref(f->doc);
	buf_free(&f->json);
	config_free(&f->cfg);
	accounts_close(f->a);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* run - op with the arguments (NULL-terminated) for who; the status, the answer in f->doc. */
static int
run(struct fixture *f, const struct web_who *who, const char *op, ...)
{
	const char *args[WEB_ARGS_MAX + 4];
	size_t n = 0;
	va_list ap;

	va_start(ap, op);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL && n < WEB_ARGS_MAX + 4;)
		args[n++] = s;
	va_end(ap);
	int status = web_ops_run(f->a, &f->cfg, who, op, args, n, &f->json);
	json_decref(f->doc);
	json_error_t e;
	f->doc = json_loads(f->json.data ? f->json.data : "", 0, &e);
	assert_non_null(f->doc);
	assert_true(json_is_object(f->doc));
	if (status >= 300)
		assert_true(json_is_string(json_object_get(f->doc, "error")));
	return status;
}

/* get - the string at key of the answer (or of obj), or "". */
static const char *
get(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

#define ARGS_END NULL

static const char *const admin_ops[] = {
	"domain.list", "domain.add", "domain.del", "user.list", "user.show", "user.add",
	"user.del", "user.passwd", "user.quota", "user.suspend", "user.resume", "user.limit",
	"user.app_password.list", "user.app_password.add", "user.app_password.del",
	"user.forward.set", "user.forward.off", "alias.list", "alias.add", "alias.del",
	"dkim.list", "dkim.rotate", "dns.records", "admin.list",
};

static const char *const self_ops[] = {
	"self.show", "self.passwd", "self.app_password.list", "self.app_password.add",
	"self.app_password.del", "self.forward.set", "self.forward.off",
};

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	struct web_who nobody = { 0 };

	assert_int_equal(run(f, NULL, "domain.list", ARGS_END), 401);
	assert_int_equal(run(f, &nobody, "self.show", ARGS_END), 401);
	assert_int_equal(run(f, &f->admin, "no.such", ARGS_END), 404);
	assert_int_equal(run(f, &f->joe, "", ARGS_END), 404);
	/* a user can run no admin operation, whatever the arguments */
	for (size_t i = 0; i < sizeof admin_ops / sizeof admin_ops[0]; i++) {
		assert_int_equal(run(f, &f->joe, admin_ops[i], ARGS_END), 403);
		assert_int_equal(run(f, &f->joe, admin_ops[i], "ann@a.test", "x", "1", ARGS_END), 403);
	}
	/* an admin runs no self.* operation: it has no mailbox */
	for (size_t i = 0; i < sizeof self_ops / sizeof self_ops[0]; i++)
		assert_int_equal(run(f, &f->admin, self_ops[i], ARGS_END), 403);
	/* the number of arguments */
	assert_int_equal(run(f, &f->admin, "domain.add", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "domain.add", "x.test", "y.test", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.add", "x@a.test", "pw", ARGS_END), 400);
	/* nothing changed on the way */
	assert_int_equal(run(f, &f->admin, "user.list", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "users")), 2);
}

static void
test_domains(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "domain.list", ARGS_END), 200);
	json_t *d = json_object_get(f->doc, "domains");
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "a.test");
	assert_int_equal(run(f, &f->admin, "domain.add", "C.Test", ARGS_END), 201);
	assert_string_equal(get(f->doc, "domain"), "c.test");
	assert_true(json_is_true(json_object_get(f->doc, "dkim_keys")));
	assert_int_equal(run(f, &f->admin, "domain.add", "c.test", ARGS_END), 409);
	assert_int_equal(run(f, &f->admin, "domain.add", "not a domain", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "domain.del", "a.test", ARGS_END), 409); /* users */
	assert_int_equal(run(f, &f->admin, "domain.del", "nowhere.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "domain.del", "c.test", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "domain.list", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "domains")), 2);
}

static void
test_users(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "user.add", "New@A.test", "pw", "5M", ARGS_END), 201);
	assert_string_equal(get(f->doc, "address"), "new@a.test");
	assert_int_equal(json_integer_value(json_object_get(f->doc, "quota")), 5 << 20);
	assert_int_equal(run(f, &f->admin, "user.add", "new@a.test", "pw", "0", ARGS_END), 409);
	assert_int_equal(run(f, &f->admin, "user.add", "x@nowhere.test", "pw", "0", ARGS_END),
	    404);
	assert_int_equal(run(f, &f->admin, "user.add", "not an address", "pw", "0", ARGS_END),
	    400);
	assert_int_equal(run(f, &f->admin, "user.add", "y@a.test", "pw", "lots", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.add", "y@a.test", "", "0", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.list", "a.test", ARGS_END), 200);
	json_t *u = json_object_get(f->doc, "users");
	assert_int_equal(json_array_size(u), 3);
	assert_string_equal(get(json_array_get(u, 0), "address"), "ann@a.test");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(u, 0), "quota")), 1000);
	assert_int_equal(run(f, &f->admin, "user.list", "b.test", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "users")), 0);
	assert_int_equal(run(f, &f->admin, "user.list", "nowhere.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.list", "bad domain", ARGS_END), 400);

	assert_int_equal(run(f, &f->admin, "user.quota", "joe@a.test", "1G", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "user.quota", "joe@a.test", "-1", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.quota", "nobody@a.test", "1", ARGS_END), 404);
	uint64_t q;
	assert_int_equal(accounts_user_quota(f->a, "joe@a.test", &q), 1);
	assert_int_equal(q, 1ULL << 30);

	assert_int_equal(run(f, &f->admin, "user.passwd", "joe@a.test", "fresh", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "user.passwd", "nobody@a.test", "x", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.passwd", "joe@a.test", "", ARGS_END), 400);

	assert_int_equal(run(f, &f->admin, "user.suspend", "joe@a.test", ARGS_END), 200);
	assert_true(json_is_true(json_object_get(f->doc, "suspended")));
	assert_int_equal(run(f, &f->admin, "user.show", "joe@a.test", ARGS_END), 200);
	assert_true(json_is_true(json_object_get(f->doc, "suspended")));
	assert_int_equal(run(f, &f->admin, "user.resume", "joe@a.test", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "user.suspend", "nobody@a.test", ARGS_END), 404);

	assert_int_equal(run(f, &f->admin, "user.limit", "joe@a.test", "5", "", ARGS_END), 200);
	json_t *lim = json_object_get(f->doc, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "per_day")), 5);
	assert_true(json_is_null(json_object_get(lim, "per_hour")));
	assert_int_equal(run(f, &f->admin, "user.limit", "joe@a.test", "", "2", ARGS_END), 200);
	lim = json_object_get(f->doc, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "per_day")), 5); /* kept */
	assert_int_equal(json_integer_value(json_object_get(lim, "per_hour")), 2);
	assert_int_equal(run(f, &f->admin, "user.limit", "joe@a.test", "default", "", ARGS_END),
	    200);
	assert_true(json_is_null(json_object_get(json_object_get(f->doc, "limits"), "per_day")));
	assert_int_equal(run(f, &f->admin, "user.limit", "joe@a.test", "x", "", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.limit", "nobody@a.test", "1", "", ARGS_END), 404);

	assert_int_equal(run(f, &f->admin, "user.show", "nobody@a.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.show", "@@", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.del", "new@a.test", ARGS_END), 200);
	assert_true(json_is_true(json_object_get(f->doc, "mailbox_kept")));
	assert_int_equal(run(f, &f->admin, "user.del", "new@a.test", ARGS_END), 404);
}

static void
test_show(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "user.show", "Ann@a.test", ARGS_END), 200);
	assert_string_equal(get(f->doc, "address"), "ann@a.test");
	assert_int_equal(json_integer_value(json_object_get(f->doc, "quota")), 1000);
	assert_true(json_is_false(json_object_get(f->doc, "suspended")));
	json_t *lim = json_object_get(f->doc, "limits");
	assert_true(json_is_null(json_object_get(lim, "per_day")));
	assert_true(json_is_null(json_object_get(lim, "per_hour")));
	assert_int_equal(json_array_size(json_object_get(f->doc, "app_passwords")), 0);
	assert_true(json_is_null(json_object_get(f->doc, "forward")));
}

static void
test_app_passwords(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "user.app_password.add", "joe@a.test", "phone",
	    ARGS_END), 201);
	assert_string_equal(get(f->doc, "name"), "phone");
	assert_int_equal(strlen(get(f->doc, "password")), APP_PASSWORD_SIZE - 1);
	assert_int_equal(run(f, &f->admin, "user.app_password.add", "joe@a.test", "phone",
	    ARGS_END), 409);
	assert_int_equal(run(f, &f->admin, "user.app_password.add", "joe@a.test", "two words",
	    ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.app_password.add", "nobody@a.test", "x",
	    ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.app_password.list", "joe@a.test", ARGS_END), 200);
	json_t *l = json_object_get(f->doc, "app_passwords");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(get(json_array_get(l, 0), "name"), "phone");
	assert_true(json_is_null(json_object_get(json_array_get(l, 0), "last_used")));
	assert_null(json_object_get(json_array_get(l, 0), "password")); /* never again */
	assert_int_equal(run(f, &f->admin, "user.app_password.del", "joe@a.test", "nope",
	    ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.app_password.del", "joe@a.test", "phone",
	    ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "user.app_password.list", "joe@a.test", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "app_passwords")), 0);
}

static void
test_forward_and_aliases(void **state)
{
	struct fixture *f = *state;
	struct target_list tl = { 0 };

	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "1", "far@away.test",
	    ARGS_END), 200);
	json_t *fw = json_object_get(f->doc, "forward");
	assert_true(json_is_true(json_object_get(fw, "keep")));
	assert_int_equal(json_array_size(json_object_get(fw, "targets")), 1);
	assert_int_equal(accounts_resolve(f->a, "joe@a.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 2); /* a copy stays */
	target_list_free(&tl);
	/* set again: replaces */
	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "0", "x@away.test",
	    "y@away.test", ARGS_END), 200);
	fw = json_object_get(f->doc, "forward");
	assert_true(json_is_false(json_object_get(fw, "keep")));
	assert_int_equal(json_array_size(json_object_get(fw, "targets")), 2);
	assert_int_equal(accounts_resolve(f->a, "joe@a.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 2);
	assert_int_equal(tl.v[0].kind, TARGET_REMOTE);
	target_list_free(&tl);
	assert_int_equal(run(f, &f->admin, "user.show", "joe@a.test", ARGS_END), 200);
	assert_true(json_is_object(json_object_get(f->doc, "forward")));
	/* refusals */
	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "2", "x@away.test",
	    ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "0", "not valid",
	    ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "0", "@away.test",
	    ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.forward.set", "nobody@a.test", "0",
	    "x@away.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.forward.set", "joe@a.test", "0", "1@x.test",
	    "2@x.test", "3@x.test", "4@x.test", "5@x.test", "6@x.test", "7@x.test", "8@x.test",
	    "9@x.test", "10@x.test", "11@x.test", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "user.forward.off", "joe@a.test", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "user.forward.off", "joe@a.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "user.forward.off", "nobody@a.test", ARGS_END), 404);

	/* aliases */
	assert_int_equal(run(f, &f->admin, "alias.add", "info@a.test", "joe@a.test", "ann@a.test",
	    ARGS_END), 201);
	assert_int_equal(run(f, &f->admin, "alias.add", "@b.test", "joe@a.test", ARGS_END), 201);
	assert_int_equal(run(f, &f->admin, "alias.add", "x@nowhere.test", "joe@a.test",
	    ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "alias.add", "x@a.test", "not valid", ARGS_END), 400);
	assert_int_equal(run(f, &f->admin, "alias.list", ARGS_END), 200);
	json_t *al = json_object_get(f->doc, "aliases");
	assert_int_equal(json_array_size(al), 2);
	assert_string_equal(get(json_array_get(al, 0), "source"), "@b.test");
	json_t *t = json_object_get(json_array_get(al, 1), "targets");
	assert_int_equal(json_array_size(t), 2);
	assert_string_equal(json_string_value(json_array_get(t, 0)), "joe@a.test");
	assert_int_equal(run(f, &f->admin, "alias.del", "info@a.test", ARGS_END), 200);
	assert_int_equal(run(f, &f->admin, "alias.del", "info@a.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "alias.del", "bad source", ARGS_END), 400);
}

static void
test_dkim_dns_admins(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "dkim.list", "a.test", ARGS_END), 200);
	json_t *keys = json_object_get(f->doc, "keys");
	assert_int_equal(json_array_size(keys), 0); /* the fixture made none */
	assert_int_equal(run(f, &f->admin, "dkim.rotate", "a.test", ARGS_END), 201);
	size_t made = json_array_size(json_object_get(f->doc, "selectors"));
	assert_true(made >= 1);
	assert_int_equal(run(f, &f->admin, "dkim.list", ARGS_END), 200);
	keys = json_object_get(f->doc, "keys");
	assert_int_equal(json_array_size(keys), made);
	assert_string_equal(get(json_array_get(keys, 0), "domain"), "a.test");
	assert_string_equal(get(json_array_get(keys, 0), "state"), "published");
	assert_int_equal(run(f, &f->admin, "dkim.rotate", "nowhere.test", ARGS_END), 404);
	assert_int_equal(run(f, &f->admin, "dkim.list", "nowhere.test", ARGS_END), 404);

	assert_int_equal(run(f, &f->admin, "dns.records", "A.test", ARGS_END), 200);
	json_t *r = json_object_get(f->doc, "records");
	bool mx = false, dkim = false;
	for (size_t i = 0; i < json_array_size(r); i++) {
		json_t *o = json_array_get(r, i);
		if (strcmp(get(o, "type"), "MX") == 0 && strcmp(get(o, "name"), "a.test.") == 0)
			mx = strcmp(get(o, "value"), "10 mx.a.test.") == 0;
		if (strcmp(get(o, "purpose"), "DKIM") == 0)
			dkim = strstr(get(o, "value"), "v=DKIM1;") != NULL;
	}
	assert_true(mx);
	assert_true(dkim);
	assert_int_equal(run(f, &f->admin, "dns.records", "nowhere.test", ARGS_END), 404);

	assert_int_equal(run(f, &f->admin, "admin.list", ARGS_END), 200);
	json_t *ad = json_object_get(f->doc, "admins");
	assert_int_equal(json_array_size(ad), 1);
	assert_string_equal(get(json_array_get(ad, 0), "name"), "boss");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ad, 0), "tokens")), 0);
}

static void
test_self(void **state)
{
	struct fixture *f = *state;
	char err[512], sid[WEB_SID_LEN + 1], csrf[WEB_CSRF_LEN + 1], cred[WEB_SID_LEN + 3];
	struct web_who w;

	assert_int_equal(run(f, &f->joe, "self.show", ARGS_END), 200);
	assert_string_equal(get(f->doc, "address"), "joe@a.test");
	/* no operation of a user names an address: one given is one too many */
	assert_int_equal(run(f, &f->joe, "self.show", "ann@a.test", ARGS_END), 400);
	assert_int_equal(run(f, &f->joe, "self.app_password.list", "ann@a.test", ARGS_END), 400);
	assert_int_equal(run(f, &f->joe, "self.forward.off", "ann@a.test", ARGS_END), 400);

	assert_int_equal(run(f, &f->joe, "self.app_password.add", "laptop", ARGS_END), 201);
	assert_int_equal(run(f, &f->joe, "self.app_password.list", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "app_passwords")), 1);
	assert_int_equal(run(f, &f->ann, "self.app_password.list", ARGS_END), 200);
	assert_int_equal(json_array_size(json_object_get(f->doc, "app_passwords")), 0);
	/* ann cannot delete joe's, even by its name */
	assert_int_equal(run(f, &f->ann, "self.app_password.del", "laptop", ARGS_END), 404);
	assert_int_equal(run(f, &f->joe, "self.app_password.del", "laptop", ARGS_END), 200);

	/* a forward is the user's own alias */
	assert_int_equal(run(f, &f->ann, "self.forward.set", "1", "ann@elsewhere.test", ARGS_END),
	    200);
	assert_string_equal(get(f->doc, "address"), "ann@a.test");
	assert_int_equal(run(f, &f->joe, "self.show", ARGS_END), 200);
	assert_true(json_is_null(json_object_get(f->doc, "forward")));
	assert_int_equal(run(f, &f->ann, "self.forward.set", "x", "a@b.test", ARGS_END), 400);
	assert_int_equal(run(f, &f->ann, "self.forward.off", ARGS_END), 200);

	/* a new password needs the old one, and ends the user's sessions */
	assert_int_equal(accounts_session_new(f->a, WEB_USER, "joe@a.test", time(NULL), sid, csrf,
	    err, sizeof err), 0);
	snprintf(cred, sizeof cred, "s:%s", sid);
	assert_int_equal(run(f, &f->joe, "self.passwd", "wrong", "new-pw", ARGS_END), 403);
	assert_int_equal(accounts_web_who(f->a, cred, time(NULL), &w), 1);
	assert_int_equal(run(f, &f->joe, "self.passwd", "joe-pw", "", ARGS_END), 400);
	assert_int_equal(run(f, &f->joe, "self.passwd", "joe-pw", "new-pw", ARGS_END), 200);
	assert_int_equal(accounts_web_who(f->a, cred, time(NULL), &w), 0);
	assert_int_equal(run(f, &f->joe, "self.passwd", "joe-pw", "newer", ARGS_END), 403);
	assert_int_equal(run(f, &f->joe, "self.passwd", "new-pw", "newer", ARGS_END), 200);
	/* ann's password is ann's */
	char hash[256];
	assert_int_equal(accounts_password_hash(f->a, "ann@a.test", hash, sizeof hash), 1);
	assert_true(password_verify("ann-pw", hash));

	/* a user deleted under its session: its operations find no user */
	assert_int_equal(accounts_user_del(f->a, "ann@a.test", err, sizeof err), 0);
	assert_int_equal(run(f, &f->ann, "self.show", ARGS_END), 404);
}

static void
test_error_is_one_printable_line(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, &f->admin, "user.show", "bad\r\n\x01\xff@a.test", ARGS_END), 400);
	const char *e = get(f->doc, "error");
	for (const char *p = e; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_and_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dkim_dns_admins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_is_one_printable_line, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
