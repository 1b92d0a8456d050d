export { authenticatorFrom } from "./credentials.js";
export { type AuthManifest, type AuthOptions, readRunAuth, runMaxPayload, serverConfigFile, writeRunAuth } from "./generate.js";
export { credsFile, identitiesOf, identityName, type RunIdentity } from "./identities.js";
export { renderServerConfig, type ServerConfigOptions } from "./server-config.js";
export { checkSecurityFlags, type ConnectFlags, connectAs, credsPath } from "./connect.js";
