// flow.mjs - mailroom's web pages as a person uses them, in headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core; run by
// tests/integration/test_browser.py, which starts the server before and checks
// over SMTP and POP3 afterwards what the browser set up.
//
// The admin logs in, adds a domain and a user, logs out; the user logs in,
// changes the password, sets a vacation reply and makes an app password, which
// is printed as one JSON line {"app_password": "..."} on stdout. On the way: a
// wrong password gives an error and no session, a user session does not open
// the admin pages, and the user's forms work with JavaScript off.
//
// Environment (from the test):
//   MR_BASE            https://127.0.0.1:PORT
//   MR_STEPS           "smoke" (only launch Chromium and show the autoconfig
//                      document) or "all" (the default)
//   MR_SETUP_ADDRESS   an address of a hosted domain, for the autoconfig step
//   MR_ADMIN, MR_ADMIN_PASSWORD
//   MR_USER, MR_PASSWORD, MR_NEW_PASSWORD   the user to add (P1) and its P2
//   MR_VACATION_UNTIL  YYYY-MM-DD
//   MR_SHOTS           directory for NAME.png screenshots of every page seen
// Diagnostics go to stderr; exit 1 names the step that failed (with a
// screenshot of where it stood), 2 a missing variable.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT = 30000; // ms for one step, all its waits together
const WAIT_TIMEOUT = 20000; // ms for one wait (a page, an element): it names what hung

function need(name) {
	const v = process.env[name];
	if (v === undefined || v === '') {
		process.stderr.write(`flow.mjs: ${name} is not set\n`);
		process.exit(2);
	}
	return v;
}

const BASE = need('MR_BASE');
const SHOTS = need('MR_SHOTS');
const STEPS = process.env.MR_STEPS || 'all';
mkdirSync(SHOTS, { recursive: true });

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let current = 'launch';
let currentPage = null;

function log(msg) {
	process.stderr.write(`flow.mjs: ${msg}\n`);
}

async function step(name, fn) {
	current = name;
	const t0 = Date.now();
	let timer;
	const limit = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`took over ${STEP_TIMEOUT} ms`)), STEP_TIMEOUT);
	});
	const run = fn();
	run.catch(() => {}); // when the limit wins, what fn still waits for fails later, unheard
	try {
		await Promise.race([run, limit]);
	} finally {
		clearTimeout(timer);
	}
	log(`${name}: ok (${Date.now() - t0} ms)`);
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function newPage(browser, opts = {}) {
	const context = await browser.newContext({
		ignoreHTTPSErrors: true, // the test instance's certificate is self-signed
		viewport: DESKTOP,
		...opts,
	});
	context.setDefaultTimeout(WAIT_TIMEOUT);
	context.setDefaultNavigationTimeout(WAIT_TIMEOUT);
	const page = await context.newPage();
	currentPage = page;
	return page;
}

// open - GET path; the response must be 200 (or one of ok).
async function open(page, p, ok = [200]) {
	const resp = await page.goto(BASE + p);
	assert.ok(resp, `no response for ${p}`);
	assert.ok(ok.includes(resp.status()), `GET ${p}: ${resp.status()}, wanted ${ok}`);
	return resp;
}

// submit - press form's submit button and wait for the page that follows (the
// POST's answer, or where its 303 leads); returns that response.
async function submit(page, form) {
	const [resp] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		page.click(`${form} button[type=submit]`),
	]);
	assert.ok(resp, `no response after submitting ${form}`);
	return resp;
}

function pathOf(page) {
	return new URL(page.url()).pathname;
}

async function count(page, sel) {
	return page.locator(sel).count();
}

async function noError(page, what) {
	const n = await count(page, '.error');
	const text = n ? await page.locator('.error').first().innerText() : '';
	assert.equal(n, 0, `${what}: the page shows an error: ${text}`);
}

async function notice(page, what) {
	await noError(page, what);
	assert.ok(await count(page, '.notice') > 0, `${what}: no .notice on ${pathOf(page)}`);
}

// login - the form#login at path; returns the response after it.
async function login(page, p, name, password) {
	await open(page, p);
	await page.fill('form#login input[name=name]', name);
	await page.fill('form#login input[name=password]', password);
	return submit(page, 'form#login');
}

// loggedIn - a good login: its POST answered 303 to home, which has a logout form.
async function loggedIn(page, resp, home) {
	const post = resp.request().redirectedFrom();
	assert.ok(post, `the login answered ${resp.status()} without a redirect`);
	const first = await post.response();
	assert.equal(first && first.status(), 303, 'the login answers 303');
	assert.equal(pathOf(page), home);
	await noError(page, 'after login');
	assert.equal(await count(page, 'form#logout button[type=submit]'), 1, `${home} has no logout form`);
}

// noSession - path does not open with this browser's session (or none): 403, or
// the login page.
async function noSession(page, p) {
	const resp = await page.goto(BASE + p);
	assert.ok(resp, `no response for ${p}`);
	if (resp.status() === 403)
		return;
	assert.equal(resp.status(), 200, `GET ${p}: ${resp.status()}, wanted 403 or the login page`);
	assert.equal(await count(page, 'form#login'), 1, `GET ${p} opened: no 403 and no login form`);
	assert.equal(await count(page, 'form#logout'), 0, `GET ${p} opened: it has a logout form`);
}

async function logout(page, section) {
	await submit(page, 'form#logout');
	await noSession(page, `/${section}/`);
}

async function smoke(browser) {
	const address = need('MR_SETUP_ADDRESS');
	const page = await newPage(browser);
	await step('autoconfig', async () => {
		const resp = await open(page, `/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`);
		const doc = await resp.text();
		assert.match(doc, /<incomingServer type="pop3">/);
		await shot(page, 'autoconfig');
	});
	await page.context().close();
}

async function admin(browser) {
	const name = need('MR_ADMIN');
	const password = need('MR_ADMIN_PASSWORD');
	const user = need('MR_USER');
	const p1 = need('MR_PASSWORD');
	const domain = user.split('@')[1];
	const page = await newPage(browser);

	await step('admin login, wrong password', async () => {
		const resp = await login(page, '/admin/login', name, password + 'x');
		await shot(page, 'admin-login-failed');
		assert.notEqual(pathOf(page), '/admin/', 'a wrong password opened /admin/');
		assert.ok(resp.status() >= 200 && resp.status() < 500, `a wrong password: ${resp.status()}`);
		assert.ok(await count(page, '.error') > 0, 'a wrong password shows no .error');
		assert.equal(await count(page, 'form#login'), 1, 'a wrong password: no login form again');
		await noSession(page, '/admin/');
	});
	await step('admin login', async () => {
		await open(page, '/admin/login');
		await shot(page, 'admin-login');
		const resp = await login(page, '/admin/login', name, password);
		await loggedIn(page, resp, '/admin/');
		await shot(page, 'admin-home');
	});
	await step('admin adds a domain', async () => {
		await open(page, '/admin/domains');
		await page.fill('form#domain-add input[name=domain]', domain);
		await submit(page, 'form#domain-add');
		await noError(page, 'domain add');
		if (pathOf(page) !== '/admin/domains')
			await open(page, '/admin/domains');
		assert.equal(await count(page, `table#domains tr[data-domain="${domain}"]`), 1,
		    `no row for ${domain} in table#domains`);
		await shot(page, 'admin-domains');
	});
	await step('admin checks the domain\'s DNS', async () => {
		await open(page, `/admin/domains/${domain}`);
		assert.ok(await count(page, 'table#dns-records tbody tr') > 5, 'the domain page lists no records');
		await page.click('a#dns-check-link');
		await page.waitForSelector('#dns-check');
		assert.ok(await count(page, '#dns-check tr[data-verdict]') > 0, 'the DNS check shows no results');
		await shot(page, 'admin-domain-check');
	});
	await step('admin adds a user', async () => {
		await open(page, '/admin/users');
		await page.fill('form#user-add input[name=address]', user);
		await page.fill('form#user-add input[name=password]', p1);
		await page.fill('form#user-add input[name=quota]', '100M');
		await submit(page, 'form#user-add');
		await noError(page, 'user add');
		if (pathOf(page) !== '/admin/users')
			await open(page, '/admin/users');
		const row = page.locator(`table#users tr[data-address="${user}"]`);
		assert.equal(await row.count(), 1, `no row for ${user} in table#users`);
		const links = await row.locator('a').evaluateAll(as => as.map(a => a.getAttribute('href')));
		assert.ok(links.some(h => h === `/admin/users/${user}` || h === `/admin/users/${encodeURIComponent(user)}`),
		    `the row of ${user} links to ${links}, not to its page`);
		await shot(page, 'admin-users');
	});
	await step('admin opens the user page', async () => {
		await open(page, `/admin/users/${encodeURIComponent(user)}`);
		for (const f of ['#user-password', '#user-quota', '#user-limits', '#user-delete'])
			assert.equal(await count(page, `form${f}`), 1, `the user page has no form${f}`);
		assert.equal(await count(page, 'form#user-suspend, form#user-resume'), 1,
		    'the user page has neither form#user-suspend nor form#user-resume');
		await shot(page, 'admin-user');
	});
	await step('admin logs out', async () => {
		await logout(page, 'admin');
		await shot(page, 'admin-logged-out');
	});
	await page.context().close();
}

// account - the user's pages, all with JavaScript off: they are plain forms.
async function account(browser) {
	const user = need('MR_USER');
	const p1 = need('MR_PASSWORD');
	const p2 = need('MR_NEW_PASSWORD');
	const until = need('MR_VACATION_UNTIL');
	const page = await newPage(browser, { javaScriptEnabled: false });
	let appPassword = null;

	await step('user login', async () => {
		const resp = await login(page, '/account/login', user, p1);
		await loggedIn(page, resp, '/account/');
		assert.equal(await count(page, '#quota'), 1, '/account/ has no #quota');
		for (const p of ['/account/password', '/account/vacation', '/account/app-passwords'])
			assert.ok(await count(page, `a[href="${p}"]`) > 0, `/account/ has no link to ${p}`);
		await shot(page, 'account-home');
		await page.setViewportSize(PHONE);
		await shot(page, 'account-home-phone');
		await page.setViewportSize(DESKTOP);
	});
	await step('a user session does not open /admin/', async () => {
		await noSession(page, '/admin/');
		await shot(page, 'account-admin-refused');
		await noSession(page, '/admin/users');
	});
	await step('user changes the password', async () => {
		await open(page, '/account/password');
		await page.fill('form#password input[name=current]', p1);
		await page.fill('form#password input[name=password]', p2);
		await page.fill('form#password input[name=confirm]', p2);
		await submit(page, 'form#password');
		await notice(page, 'password change');
		await shot(page, 'account-password');
	});
	await step('user sets a vacation reply', async () => {
		await open(page, '/account/vacation');
		await page.fill('form#vacation input[name=subject]', 'Away');
		await page.fill('form#vacation textarea[name=body]', 'Back on Monday');
		await page.fill('form#vacation input[name=until]', until);
		await submit(page, 'form#vacation');
		await notice(page, 'vacation');
		await shot(page, 'account-vacation');
	});
	await step('user makes an app password', async () => {
		await open(page, '/account/app-passwords');
		await page.fill('form#app-password-add input[name=name]', 'phone');
		await submit(page, 'form#app-password-add');
		await noError(page, 'app password add');
		const shown = page.locator('#new-app-password');
		assert.equal(await shown.count(), 1, 'no #new-app-password after adding one');
		appPassword = (await shown.textContent()).trim();
		assert.ok(appPassword.length >= 16, `the new app password is "${appPassword}"`);
		assert.equal(await count(page, 'table#app-passwords tr[data-name="phone"]'), 1,
		    'no row "phone" in table#app-passwords');
		await shot(page, 'account-app-passwords');
	});
	await step('user logs out', async () => {
		await logout(page, 'account');
		await shot(page, 'account-logged-out');
	});
	await step('the old password no longer logs in', async () => {
		const resp = await login(page, '/account/login', user, p1);
		assert.notEqual(pathOf(page), '/account/', 'the old password opened /account/');
		assert.ok(resp.status() < 500, `a wrong password: ${resp.status()}`);
		assert.ok(await count(page, '.error') > 0, 'the old password shows no .error');
		await shot(page, 'account-login-failed');
	});
	await page.context().close();
	process.stdout.write(JSON.stringify({ app_password: appPassword }) + '\n');
}

let browser = null;
let rc = 0;
try {
	browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		headless: true,
		timeout: STEP_TIMEOUT,
		args: [
			// Chromium's own sandbox refuses to start as root (CI runs as root).
			...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
			// Nothing but loopback: no name resolves, so nothing leaves the machine.
			'--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
			'--disable-dev-shm-usage',
		],
	});
	await smoke(browser);
	if (STEPS === 'all') {
		await admin(browser);
		await account(browser);
	}
} catch (e) {
	rc = 1;
	log(`step "${current}" failed: ${e && e.message ? e.message : e}`);
	if (currentPage) {
		log(`at ${currentPage.url()}`);
		try {
			await shot(currentPage, `failed-${current.replace(/[^A-Za-z0-9]+/g, '-')}`);
		} catch {
			// the page may be gone with the browser; the message above says enough
		}
	}
} finally {
	if (browser)
		await browser.close().catch(() => {});
}
process.exit(rc);
