export { addBlackboxAdmin, removeBlackboxAdmin } from './change-admins.js';
export { checkBlackboxRecipients, type RecipientsReport } from './check-recipients.js';
export type { FileFailure, ReencryptReport } from './file-report.js';
export type { RecipientMismatch } from './recipient-mismatch.js';
export { type ReencryptOptions, reencryptBlackboxFiles } from './reencrypt-files.js';
