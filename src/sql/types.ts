import type { FeatureType } from '../definitions/types.ts';
import { raw, type Sql } from './index.ts';

/** The DuckDB column type of each feature type. */
export function sqlTypeOf(type: FeatureType): Sql {
  switch (type) {
    case 'int32': return raw('INTEGER');
    case 'int64': return raw('BIGINT');
    case 'float32': return raw('FLOAT');
    case 'float64': return raw('DOUBLE');
    case 'bool': return raw('BOOLEAN');
    case 'string': return raw('VARCHAR');
    case 'timestamp': return raw('TIMESTAMP');
    case 'date': return raw('DATE');
    case 'list<float32>': return raw('FLOAT[]');
  }
}
