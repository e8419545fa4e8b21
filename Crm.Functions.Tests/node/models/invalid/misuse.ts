// Each statement below must fail to compile against the generated models; TypedModelTests expects exactly these errors.
import { Activity, Deal } from '../generated/models.js';

// A stage outside the pipeline (TS2322).
export const wrongStage = new Deal({ title: 'Renewal', stage: 'closed' });

// A deal without its required title (TS2741).
export const noTitle = new Deal({ amount: 10 });

// A number where the schema says String (TS2322).
export const wrongType = new Activity({ subject: 42 });

// A field the class does not have (TS2353).
export const unknownField = new Deal({ title: 'Renewal', probability: 0.4 });
