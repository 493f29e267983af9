import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, requestBody, validate } from './create-form.ts';

describe('create form', () => {
  const form = { ...EMPTY_FORM, name: 'demo', template: 'general-coding' };

  it('accepts a valid form and leaves empty overrides to the template', () => {
    expect(validate(form)).toEqual({});
    expect(requestBody(form)).toEqual({
      name: 'demo',
      namespace: 'default',
      templateRef: { name: 'general-coding' },
    });
  });

  it("checks the name with the server's rules", () => {
    expect(validate({ ...form, name: '' }).name).toBe('is required');
    expect(validate({ ...form, name: 'Demo' }).name).toMatch(/lowercase letters/);
    expect(validate({ ...form, name: '-demo' }).name).toMatch(/starting and ending/);
    expect(validate({ ...form, name: 'a'.repeat(54) }).name).toMatch(/at most 53/);
    expect(validate({ ...form, name: 'a'.repeat(53) }).name).toBeUndefined();
  });

  it('checks overrides and maps them onto the request', () => {
    const p = validate({ ...form, timeout: 'soon', memory: '1Mi', cpu: 'many', storageSize: 'big' });
    expect(Object.keys(p).sort()).toEqual(['cpu', 'memory', 'storageSize', 'timeout']);
    expect(validate({ ...form, timeout: '999h' }).timeout).toBeDefined();
    expect(
      requestBody({
        ...form,
        timeout: '8h',
        idleTimeout: '30m',
        storageSize: '2Gi',
        cpu: '2',
        memory: '1Gi',
      }),
    ).toMatchObject({
      timeout: '8h',
      idleTimeout: '30m',
      storage: { size: '2Gi' },
      resources: { limits: { cpu: '2', memory: '1Gi' } },
    });
  });

  it('asks for a template', () => {
    expect(validate({ ...form, template: '' }).template).toBe('is required');
  });
});
