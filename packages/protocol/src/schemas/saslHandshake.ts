// Tributary's own definition of the SaslHandshake API (key 17) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const saslHandshake = api(17, 'SaslHandshake', '0-1', 'none', {
  request: [
    f('Mechanism', 'string', '0+'),
  ],
  response: [
    f('ErrorCode', 'int16', '0+'),
    f('Mechanisms', '[]string', '0+'),
  ],
});
