/**
 * The common JUnit schema (the layout of Jenkins' junit schema, which CI systems read:
 * testsuites > testsuite > properties, testcase, system-out, system-err; a testcase holds
 * skipped | error | failure and system-out), and validation with xmllint from Debian's
 * libxml2-utils when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const JUNIT_XSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="failure">
    <xs:complexType mixed="true">
      <xs:attribute name="type" type="xs:string" use="optional"/>
      <xs:attribute name="message" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="error">
    <xs:complexType mixed="true">
      <xs:attribute name="type" type="xs:string" use="optional"/>
      <xs:attribute name="message" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="skipped">
    <xs:complexType mixed="true">
      <xs:attribute name="type" type="xs:string" use="optional"/>
      <xs:attribute name="message" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="properties">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="property" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:element name="property">
    <xs:complexType>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="value" type="xs:string" use="required"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="system-err" type="xs:string"/>
  <xs:element name="system-out" type="xs:string"/>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="skipped" minOccurs="0" maxOccurs="1"/>
        <xs:element ref="error" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="failure" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-out" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-err" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="assertions" type="xs:string" use="optional"/>
      <xs:attribute name="time" type="xs:string" use="optional"/>
      <xs:attribute name="classname" type="xs:string" use="optional"/>
      <xs:attribute name="status" type="xs:string" use="optional"/>
      <xs:attribute name="class" type="xs:string" use="optional"/>
      <xs:attribute name="file" type="xs:string" use="optional"/>
      <xs:attribute name="line" type="xs:string" use="optional"/>
      <xs:attribute name="log" type="xs:string" use="optional"/>
      <xs:attribute name="group" type="xs:string" use="optional"/>
      <xs:attribute name="url" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="properties" minOccurs="0" maxOccurs="1"/>
        <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element ref="system-out" minOccurs="0" maxOccurs="1"/>
        <xs:element ref="system-err" minOccurs="0" maxOccurs="1"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:string" use="required"/>
      <xs:attribute name="failures" type="xs:string" use="optional"/>
      <xs:attribute name="errors" type="xs:string" use="optional"/>
      <xs:attribute name="time" type="xs:string" use="optional"/>
      <xs:attribute name="disabled" type="xs:string" use="optional"/>
      <xs:attribute name="skipped" type="xs:string" use="optional"/>
      <xs:attribute name="timestamp" type="xs:string" use="optional"/>
      <xs:attribute name="hostname" type="xs:string" use="optional"/>
      <xs:attribute name="id" type="xs:string" use="optional"/>
      <xs:attribute name="package" type="xs:string" use="optional"/>
      <xs:attribute name="file" type="xs:string" use="optional"/>
      <xs:attribute name="log" type="xs:string" use="optional"/>
      <xs:attribute name="url" type="xs:string" use="optional"/>
      <xs:attribute name="version" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="optional"/>
      <xs:attribute name="time" type="xs:string" use="optional"/>
      <xs:attribute name="tests" type="xs:string" use="optional"/>
      <xs:attribute name="failures" type="xs:string" use="optional"/>
      <xs:attribute name="disabled" type="xs:string" use="optional"/>
      <xs:attribute name="errors" type="xs:string" use="optional"/>
      <xs:attribute name="skipped" type="xs:string" use="optional"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
`;

export const hasXmllint = spawnSync('xmllint', ['--version'], { encoding: 'utf8' }).status === 0;

/** Validate XML text against JUNIT_XSD with xmllint; returns xmllint's complaint or ''. */
export function validateJUnit(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-junit-'));
  try {
    writeFileSync(join(dir, 'junit.xsd'), JUNIT_XSD);
    writeFileSync(join(dir, 'report.xml'), xml);
    const r = spawnSync(
      'xmllint',
      ['--noout', '--schema', join(dir, 'junit.xsd'), join(dir, 'report.xml')],
      { encoding: 'utf8' },
    );
    return r.status === 0 ? '' : `${r.stderr}${r.stdout}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
