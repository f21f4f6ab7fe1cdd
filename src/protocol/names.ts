/** Project (document) names: what a relay accepts in `ws://host/<project>`. */

export const PROJECT_NAME_MAX = 128;
const PROJECT_NAME_RE = /^[A-Za-z0-9._-]+$/;

/** The reason a project name is refused, or null when it is acceptable. */
export function projectNameProblem(name: string): string | null {
  if (name.length === 0) return 'project name is empty';
  if (name.length > PROJECT_NAME_MAX) return `project name is longer than ${PROJECT_NAME_MAX} characters`;
  if (!PROJECT_NAME_RE.test(name)) return 'project name may contain only letters, digits, ".", "_" and "-"';
  if (name === '.' || name === '..') return 'project name may not be "." or ".."';
  return null;
}

/** Turn any folder name into an acceptable project name (used for defaults). */
export function toProjectName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, PROJECT_NAME_MAX);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'default' : cleaned;
}
