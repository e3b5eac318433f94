// unattend.xml for Windows Setup: the offlineServicing pass of Microsoft-Windows-UnattendedJoin,
// OfflineIdentification → Provisioning → AccountData = the package text (what `djoin /requestodj`
// would otherwise apply). Setup applies it to the offline image before first boot.
import type { Input, Output } from '@pulumi/pulumi';

export type UnattendArchitecture = 'amd64' | 'arm64';

export interface UnattendOptions {
  /** One component per architecture; default amd64. */
  architecture?: UnattendArchitecture | UnattendArchitecture[];
}

const architectures: readonly UnattendArchitecture[] = ['amd64', 'arm64'];

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function architecturesOf(options: UnattendOptions): UnattendArchitecture[] {
  const a = options.architecture ?? 'amd64';
  const list = [...new Set(Array.isArray(a) ? a : [a])];
  if (list.length === 0) throw new TypeError('architecture: give at least one of amd64, arm64');
  for (const x of list) {
    if (!architectures.includes(x)) throw new TypeError(`architecture: unsupported value; use amd64 or arm64`);
  }
  return list;
}

/** The XML text. The package text is checked to be base64 (never echoed: it is a secret). */
export function renderUnattendXmlText(packageText: string, options: UnattendOptions = {}): string {
  const text = packageText.replace(/\s+/g, '');
  if (text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new TypeError('packageText: not base64 package text (give the text form of an offline join package)');
  }
  const components = architecturesOf(options).map(
    (arch) => `    <component name="Microsoft-Windows-UnattendedJoin" processorArchitecture="${arch}" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <OfflineIdentification>
        <Provisioning>
          <AccountData>${escapeXml(text)}</AccountData>
        </Provisioning>
      </OfflineIdentification>
    </component>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="offlineServicing">
${components.join('\n')}
  </settings>
</unattend>
`;
}

/** Renders unattend.xml. Given a plain string, returns the text; given a Pulumi Input (an Output
 *  such as OfflineJoinPackage.packageText, or a promise), returns a secret Output. */
export function renderUnattendXml(packageText: string, options?: UnattendOptions): string;
export function renderUnattendXml(packageText: Input<string>, options?: UnattendOptions): Output<string>;
export function renderUnattendXml(packageText: Input<string>, options: UnattendOptions = {}): string | Output<string> {
  if (typeof packageText === 'string') return renderUnattendXmlText(packageText, options);
  architecturesOf(options); // fail now, not inside the Output
  // Loaded here so that library and CLI users who render plain text need no Pulumi runtime.
  const pulumi = require('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
  return pulumi.secret(pulumi.output(packageText).apply((t) => renderUnattendXmlText(t, options)));
}
