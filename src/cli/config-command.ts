import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadEnvironment, localS3CredentialsPath } from '../config/environment';
import { temporalConnectionSettings } from '../config/temporal-connection';

/** One component's resolved settings, as label and printable value pairs with every secret already replaced. */
export interface SettingsSection {
  component: 'temporal' | 's3' | 'mlflow' | 'folders';
  settings: Array<[label: string, value: string]>;
}

const REDACTED = '[redacted]';

/** Variables of the AWS SDK's default provider chain that `config check` names when they are set. */
const AWS_CHAIN_VARIABLES = ['AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];

/** Masks an access key id as the AWS CLI does, keeping only its last 4 characters. */
export function maskAccessKeyId(accessKeyId: string): string {
  return accessKeyId.length > 8 ? `****${accessKeyId.slice(-4)}` : REDACTED;
}

function describeTemporal(env: NodeJS.ProcessEnv): SettingsSection {
  const environment = loadEnvironment(env);
  // Reads the PEM files too, so a missing or unreadable certificate fails here rather than in a worker.
  const connection = temporalConnectionSettings(environment, env);
  const settings: SettingsSection['settings'] = [
    ['address', environment.temporal.address],
    ['namespace', environment.temporal.namespace],
  ];

  if (connection.tls === undefined) {
    settings.push(['tls', 'off (plain gRPC)']);
  } else {
    const parts = [env.WHORL_TEMPORAL_TLS_CERT !== undefined ? `client certificate ${env.WHORL_TEMPORAL_TLS_CERT}, key ${env.WHORL_TEMPORAL_TLS_KEY}` : 'no client certificate'];
    parts.push(env.WHORL_TEMPORAL_TLS_CA !== undefined ? `CA ${env.WHORL_TEMPORAL_TLS_CA}` : 'system CAs');
    if (env.WHORL_TEMPORAL_TLS_SERVER_NAME !== undefined) parts.push(`server name ${env.WHORL_TEMPORAL_TLS_SERVER_NAME}`);
    settings.push(['tls', `on: ${parts.join(', ')}`]);
  }
  settings.push(['api key', connection.apiKey !== undefined ? `${REDACTED} (WHORL_TEMPORAL_API_KEY)` : 'not set']);
  return { component: 'temporal', settings };
}

function describeS3(env: NodeJS.ProcessEnv): SettingsSection {
  const environment = loadEnvironment(env);
  let credentials: string;
  if (env.AWS_ACCESS_KEY_ID !== undefined) {
    credentials = `access key ${maskAccessKeyId(env.AWS_ACCESS_KEY_ID)}, secret ${REDACTED}, from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  } else if (environment.s3.credentials !== undefined) {
    credentials = `access key ${maskAccessKeyId(environment.s3.credentials.accessKeyId)}, secret ${REDACTED}, from the local stack's file ${localS3CredentialsPath(env)}`;
  } else {
    const chain = AWS_CHAIN_VARIABLES.filter((name) => env[name] !== undefined);
    credentials = `the AWS SDK's default provider chain${chain.length > 0 ? ` (set: ${chain.join(', ')})` : ' (no AWS variables set, so shared files or instance and container roles)'}`;
  }
  return {
    component: 's3',
    settings: [
      ['endpoint', environment.s3.endpoint],
      ['region', environment.s3.region],
      ['bucket', environment.s3.bucket],
      ['credentials', credentials],
    ],
  };
}

function describeMlflow(env: NodeJS.ProcessEnv): SettingsSection {
  const environment = loadEnvironment(env);
  let auth = 'none';
  if (env.MLFLOW_TRACKING_TOKEN !== undefined) auth = `bearer token ${REDACTED} (MLFLOW_TRACKING_TOKEN)`;
  else if (env.MLFLOW_TRACKING_USERNAME !== undefined) auth = `basic, user ${env.MLFLOW_TRACKING_USERNAME}, password ${REDACTED}`;

  const settings: SettingsSection['settings'] = [
    ['uri', environment.mlflow.uri],
    ['auth', auth],
  ];
  if (auth !== 'none' && environment.mlflow.uri.startsWith('http://') && !/^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(environment.mlflow.uri)) {
    settings.push(['warning', 'credentials would travel unencrypted over http://; use an https:// URI for a remote MLflow server']);
  }
  return { component: 'mlflow', settings };
}

/**
 * Validates every connection setting in `env` and returns what each client
 * will use. Raises UserInputError, naming the variable, for the first invalid
 * setting. No secret value appears in the result.
 */
export function describeConnectionSettings(env: NodeJS.ProcessEnv = process.env): SettingsSection[] {
  const environment = loadEnvironment(env);
  return [
    describeTemporal(env),
    describeS3(env),
    describeMlflow(env),
    {
      component: 'folders',
      settings: [
        ['cache', environment.cacheDir],
        ['state', environment.stateDir],
      ],
    },
  ];
}

/** Formats sections as aligned `component  label  value` lines. */
export function formatSettings(sections: SettingsSection[]): string {
  const lines: string[] = [];
  for (const section of sections) {
    section.settings.forEach(([label, value], index) => {
      lines.push(`${(index === 0 ? section.component : '').padEnd(9)} ${label.padEnd(12)} ${value}`);
    });
  }
  return lines.join('\n');
}

export function configCommand(): Command {
  const config = new Command('config').description('inspect the connection settings read from the environment');

  config
    .command('check')
    .description('validate the Temporal, S3 and MLflow settings from the environment and print the resolved endpoints, with secrets redacted; exits 1 on the first invalid setting')
    .action(() => {
      const sections = describeConnectionSettings();
      console.log(formatSettings(sections));
      if (!existsSync(localS3CredentialsPath()) && process.env.AWS_ACCESS_KEY_ID === undefined) {
        console.log('note: no static S3 credentials, so the AWS SDK resolves them when a client first connects');
      }
      console.log('settings valid; run "whorl doctor" to reach each service');
    });

  return config;
}
