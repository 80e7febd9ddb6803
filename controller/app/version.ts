/** Version of this controller (kept in step with package.json; build tooling may override via env). */
export const MIC_VERSION = process.env.MIC_BUILD_VERSION ?? '0.1.0';
/** Git commit and build date, when the image build provides them. */
export const MIC_BUILD = { gitCommit: process.env.MIC_BUILD_COMMIT ?? 'unknown', buildDate: process.env.MIC_BUILD_DATE ?? 'unknown' };
