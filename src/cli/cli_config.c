/*
 * cli_config.c - `mailroom config check`: parse and validate the config file,
 * and read the [tls] certificates and keys as `serve` would (so run it as the
 * user that starts serve).
 */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <stdio.h>
#include <string.h>

#include "net/tls_server.h"

int
cli_config(const char *path, int argc, char **argv)
{
	struct config cfg;
	struct tls_certs certs;
	char err[1024];

	if (argc != 1 || strcmp(argv[0], "check") != 0)
		return cli_usage_error("config check");
	if (config_load(path, &cfg, err, sizeof err) < 0)
		return cli_fail("%s", err);
	if (tls_certs_load(&certs, &cfg, err, sizeof err) < 0) {
		config_free(&cfg);
		return cli_fail("%s: %s", path, err);
	}
	/* Clients that check the name would fail; some set-ups serve only by SNI or IP. */
	if (certs.main.cert != NULL &&
	    tls_cert_names(certs.main.cert, certs.main.certlen, cfg.hostname) != 1)
		printf("warning: the [tls] cert does not name the hostname %s\n", cfg.hostname);
	printf("%s: ok\n", path);
	tls_certs_free(&certs);
	config_free(&cfg);
	return 0;
}
