import { describe, expect, it } from 'vitest';
import { EMPTY_ACCESS, authOf, describeAuth, describeSsh, sshOf } from './access';

describe('the sign-in and SSH fields', () => {
  it('keep the saved method when none is chosen, and name a token method with its settings', () => {
    expect(authOf(EMPTY_ACCESS)).toBeNull();
    expect(authOf({ ...EMPTY_ACCESS, auth: 'password' })).toEqual({ method: 'password' });
    expect(authOf({ ...EMPTY_ACCESS, auth: 'rds', awsRegion: ' eu-west-1 ', awsProfile: '' })).toEqual({
      method: 'rds',
      region: 'eu-west-1',
    });
    expect(authOf({ ...EMPTY_ACCESS, auth: 'azure', azureClientId: 'c', azureTenantId: 't' })).toEqual({
      method: 'azure',
      client_id: 'c',
      tenant_id: 't',
    });
    expect(authOf({ ...EMPTY_ACCESS, auth: 'cloudsql', cloudsqlInstance: ' p:europe-west1:db ' })).toEqual({
      method: 'cloudsql',
      instance: 'p:europe-west1:db',
      route: 'connector',
      ip_type: 'public',
    });
    expect(authOf({ ...EMPTY_ACCESS, auth: 'cloudsql', cloudsqlRoute: 'proxy', cloudsqlIpType: 'psc' })).toEqual({
      method: 'cloudsql',
      route: 'proxy',
    });
  });

  it('make a tunnel only with a destination, jump hosts in order', () => {
    expect(sshOf({ ...EMPTY_ACCESS, sshIdentity: '~/.ssh/id' })).toBeNull();
    expect(sshOf({ ...EMPTY_ACCESS, sshDestination: ' ops@bastion ', sshJump: 'a@j1, b@j2  c' })).toEqual({
      destination: 'ops@bastion',
      jump: ['a@j1', 'b@j2', 'c'],
    });
  });

  it('describe a saved profile in words', () => {
    expect(describeAuth(undefined)).toBe('password');
    expect(describeAuth({ method: 'rds', region: 'us-east-1' })).toBe('AWS RDS IAM token (region us-east-1)');
    expect(describeAuth({ method: 'azure' })).toBe('Microsoft Entra ID token');
    expect(describeAuth({ method: 'cloudsql', instance: 'p:r:db' })).toBe(
      'Google Cloud SQL IAM token (instance p:r:db)',
    );
    expect(describeAuth({ method: 'cloudsql' })).toBe('Google Cloud SQL IAM token');
    expect(describeAuth({ method: 'cloudsql', instance: 'p:r:db', route: 'connector', ip_type: 'private' })).toBe(
      'Google Cloud SQL IAM token (instance p:r:db, connector, private IP)',
    );
    expect(describeSsh(null)).toBeNull();
    expect(describeSsh({ destination: 'ops@bastion', jump: ['j1'], identity_file: '/k' })).toBe(
      'ops@bastion · via j1 · key /k',
    );
  });
});
