// Where a secret may hide in text that is not marked secret. A user name or password inside a
// URL (`ldaps://user:pw@dc`) is refused everywhere a URL is taken: it would be ignored (we bind
// with bindUser/bindPassword), yet sit in the process list, shell history and the Pulumi state's
// plain `url`; the messages never repeat the URL. And a bind user that does not look like a user
// name may be a password typed into the wrong field: messages show it only when it looks right.

/** True when the URL's authority carries user information (`user[:password]@host`). */
export function hasUrlCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') return true;
  } catch {
    // Not a URL at all: the authority test below still applies.
  }
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url.trim());
  return authority !== null && authority[1].includes('@');
}

/** The rule, worded for an input named `field`. */
export function urlCredentialsRule(field: string, userField = 'bindUser', passwordField = 'bindPassword'): string {
  return `${field} must not carry a user name or password (user:password@host): give them as ${userField} and ${passwordField}; the URL is not repeated here`;
}

// Account names as people write them: letters, digits and . _ - $ (sAMAccountName allows more,
// but a name with ! # % & or @ twice is far more often a password in the wrong place).
const NAME = "[A-Za-z0-9._$'-]{1,256}";
const UPN = new RegExp(`^${NAME}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$`);
const DOWN_LEVEL = new RegExp(`^[A-Za-z0-9-]{1,15}\\\\${NAME}$`);
const DN = /^(CN|UID)=[^,=]+(,\s*(CN|OU|DC)=[^,=]+)+$/i;
const BARE = new RegExp(`^${NAME}$`);

/** The bind user as messages may show it: itself when it has the shape of a user name (user@realm,
 *  DOMAIN\user, a DN or a plain account name), else a placeholder, so that a password typed into
 *  --user / bindUser never appears in an error or a prompt. */
export function bindUserLabel(user: string): string {
  return UPN.test(user) || DOWN_LEVEL.test(user) || DN.test(user) || BARE.test(user) ? user : '(the bind user given, not shown: it does not look like a user name; was a password typed there?)';
}
